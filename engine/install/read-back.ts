// Re-reads an image (or the chunks of it one run wrote) from its slot after the last write (O_DIRECT, reads queued ahead) and checks each chunk's signed CRC32.
import { faultPoint } from '../core/fault-point';
import { crc32 } from '../../native/crc32';
import { AbuError, withContext } from '../core/errors';
import type { ImageEntry } from '../bundle/bundle-reader';
import type { SlotHandle } from '../slots/slot-store';
import { chunkLength } from './adaptive-plan';
import type { BufferPool } from './buffer-pool';

/** Reads queued ahead of the one being checked: 4 MiB O_DIRECT reads at depth 2 ran 1.2-1.4x faster than one at a time here. */
const READ_AHEAD = 2;

interface QueuedRead {
  buf: Buffer;
  offset: number;
  read: Promise<number>;
  /** Set on a read that starts a run of chunks (the one before it ended another run, or none did). */
  firstChunk?: number;
}

/** One read of the plan: at most a pool buffer, inside one run of consecutive chunks. */
interface PlannedRead {
  offset: number;
  length: number;
  firstChunk?: number;
}

/**
 * What the medium returns for the image, checked chunk by chunk against the CRC32s of the signed manifest:
 * the cache is dropped first, then up to READ_AHEAD reads run while the previous buffer is checked. CRC32
 * (native, several GB/s) is enough here: every chunk was checked against its signed SHA-256 before it was
 * written, so this only has to catch a medium that lost or changed writes, not a forger. `only` limits it to
 * some chunks (ascending indexes: the ones an adaptive install wrote); by default every chunk is read. Needs
 * the pool to itself (at least 2 buffers); every buffer is back in the pool when firstBadChunk() settles, even on failure.
 */
export class ReadBack {
  private readonly chunks: ChunkCrcCheck;
  private readonly readAhead: number;
  private readonly plan: PlannedRead[];

  constructor(private readonly entry: ImageEntry, private readonly slot: SlotHandle, private readonly pool: BufferPool, private readonly onBytes: (n: number) => void, private readonly signal?: AbortSignal, only?: readonly number[]) {
    this.readAhead = Math.max(1, Math.min(READ_AHEAD, pool.count - 1));
    this.chunks = new ChunkCrcCheck(entry);
    this.plan = planReads(entry, pool.bufferSize, only);
  }

  /** The bytes firstBadChunk() reads (the whole image, or the chunks asked for). */
  get bytes(): number {
    return this.plan.reduce((n, r) => n + r.length, 0);
  }

  /** The index of the first chunk whose bytes on the medium differ from its signed CRC32, or null when all match. */
  async firstBadChunk(): Promise<number | null> {
    await this.slot.dropCache().catch((e) => Promise.reject(withContext(`dropping the page cache of slot ${this.slot.target.slot}`, e, 'ABU_ERR_IO')));
    const queue: QueuedRead[] = [];
    let next = 0;
    try {
      while (next < this.plan.length || queue.length > 0) {
        this.signal?.throwIfAborted();
        while (queue.length < this.readAhead && next < this.plan.length) queue.push(this.startRead(this.plan[next++]));
        const head = queue[0];
        const got = await head.read;
        if (got !== head.buf.length) throw new AbuError('ABU_ERR_READBACK', `read-back of slot ${this.slot.target.slot} stopped at ${head.offset + got} of ${this.entry.size} bytes`);
        queue.shift();
        if (head.firstChunk !== undefined) this.chunks.seek(head.firstChunk);
        this.chunks.update(head.buf);
        this.pool.give(head.buf);
        this.onBytes(head.buf.length);
        faultPoint('install.during-read-back');
      }
      return this.chunks.badChunk;
    } finally {
      // On failure too: no read may still use a buffer (or the slot) once this settles.
      await Promise.allSettled(queue.map((q) => q.read));
      for (const q of queue) this.pool.give(q.buf);
    }
  }

  private startRead({ offset, length, firstChunk }: PlannedRead): QueuedRead {
    const buf = this.pool.take(length);
    const read = this.slot.read(buf, offset).catch((e) => Promise.reject(withContext(`reading back slot ${this.slot.target.slot} at ${offset}`, e, 'ABU_ERR_IO')));
    read.catch(() => undefined); // awaited in order; a later read failing first must not go unhandled
    return { buf, offset, read, firstChunk };
  }
}

/**
 * The reads covering the chunks asked for (all by default): each run of consecutive chunks is read in pieces of
 * up to `bufferSize` (a whole-image read-back is one run, read as before in pool-buffer pieces).
 */
function planReads(entry: ImageEntry, bufferSize: number, only?: readonly number[]): PlannedRead[] {
  const n = entry.chunkCrc32.length;
  const indexes = only ?? Array.from({ length: n }, (_, i) => i);
  const reads: PlannedRead[] = [];
  for (let k = 0; k < indexes.length;) {
    let end = k + 1;
    while (end < indexes.length && indexes[end] === indexes[end - 1] + 1) end++;
    const from = indexes[k] * entry.chunkSize;
    const to = Math.min(entry.size, (indexes[end - 1] + 1) * entry.chunkSize);
    for (let at = from; at < to; at += bufferSize) reads.push({ offset: at, length: Math.min(bufferSize, to - at), ...(at === from ? { firstChunk: indexes[k] } : {}) });
    k = end;
  }
  return reads;
}

/** Running CRC32 per chunk over bytes fed in order, whatever the read size; remembers the first chunk that differs. */
class ChunkCrcCheck {
  badChunk: number | null = null;
  private index = 0;
  private crc = 0;
  private filled = 0;

  constructor(private readonly entry: ImageEntry) {}

  /** The next bytes fed start chunk `index` (a new run: the chunks before it are not read back). */
  seek(index: number): void {
    this.index = index;
    this.crc = 0;
    this.filled = 0;
  }

  update(buf: Buffer): void {
    for (let at = 0; at < buf.length;) {
      const chunkSize = Math.min(this.entry.chunkSize, this.entry.size - this.index * this.entry.chunkSize);
      const part = buf.subarray(at, at + chunkSize - this.filled);
      this.crc = crc32(part, this.crc);
      this.filled += part.length;
      at += part.length;
      if (this.filled < chunkSize) continue;
      if (this.badChunk === null && this.crc >>> 0 !== this.entry.chunkCrc32[this.index] >>> 0) this.badChunk = this.index;
      this.index++;
      this.crc = 0;
      this.filled = 0;
    }
  }
}

/** The largest logical sector size: an O_DIRECT read aligned to it never goes through the page cache. */
const DIRECT_ALIGN = 4096;

/**
 * The chunks to read back, or undefined for all of them. A kept chunk was read from the medium (O_DIRECT) and
 * matched its signed SHA-256 (adaptive) or CRC32 (resumed from a checkpoint, see resume.ts) in this run, and
 * nothing has written it since (the appliance lock): only the chunks this run wrote need the read-back. Not so without O_DIRECT (the scan may
 * have read the page cache: every chunk is read back), nor for a kept chunk whose sub-sector part went through
 * the page cache (an unaligned last chunk: read back too).
 */
export function readBackChunks(entry: ImageEntry, target: SlotHandle, held: boolean[]): number[] | undefined {
  if (!target.direct) return undefined;
  const fromMedium = (i: number) => (target.target.offset + i * entry.chunkSize) % DIRECT_ALIGN === 0 && chunkLength(entry, i) % DIRECT_ALIGN === 0;
  return held.flatMap((h, i) => (h && fromMedium(i) ? [] : [i]));
}
