// The zstd chunks of one image, decompressed ahead of the consumer in the threadpool while the next stored bytes are read.
import { AbuError } from '../core/errors';
import type { ByteReader } from './byte-reader';
import type { ChunkExtent } from './chunk-layout';
import { decompressChunk } from './chunk-decompress';
import type { ImageEntry } from './manifest';

/**
 * How far to decompress ahead, and where the buffers come from. Each chunk decompressed ahead holds a buffer
 * from tryAllocate (null: none free now, so no more look-ahead until the consumer gives one back: the install's
 * pool stays the only memory for chunks); release takes back the buffers of chunks never handed out.
 */
export interface DecompressAhead {
  count: number;
  /** Bytes in each buffer tryAllocate and the consumer's allocate hand out (a chunk's stored bytes go at its end). */
  capacity: number;
  tryAllocate: (size: number) => Buffer | null;
  release: (buf: Buffer) => void;
}

interface Pending {
  index: number;
  data: Buffer;
  done: Promise<void>;
}

export interface AheadChunk {
  index: number;
  data: Buffer;
}

/**
 * Yields the wanted chunks of a zstd image in order, each decompressed (transport CRC32 first) into its buffer.
 * Reads stay sequential; up to `ahead.count` decompressions beyond the yielded chunk run in the threadpool while
 * the consumer writes it. Each chunk's stored bytes are read into the end of its own pool buffer and decompressed
 * in place (the pool's buffers have zstdInPlaceMargin room past a chunk), so the look-ahead holds no memory beyond the
 * install's pool. Before, a ring of count + 1 stored-bytes buffers of its own took the CLI's peak RSS from 61 MiB
 * (uncompressed) to 71 for a 256 MiB image; now 66, flat to 1 GiB: the pool's buffers, all of them in use (an
 * uncompressed install rarely has its third one out). A refused chunk throws when its turn comes, after the ones before it.
 */
export async function* decompressedAhead(reader: ByteReader, entry: ImageEntry, extents: ChunkExtent[], o: { allocate: (size: number) => Buffer; skip?: (index: number) => boolean; ahead: DecompressAhead }): AsyncGenerator<AheadChunk> {
  const queue: Pending[] = [];
  let next = 0;
  try {
    for (;;) {
      // The head always gets a buffer (the consumer leaves one free for the reader); the ones ahead only when one is free.
      while (next < extents.length && queue.length <= o.ahead.count) {
        if (reader.position !== extents[next].offset) throw new AbuError('ABU_ERR_INTERNAL', `chunks of image ${entry.name} read after the bundle moved past them`);
        const section = `image ${entry.name} chunk ${next}`;
        if (o.skip?.(next)) {
          await reader.skip(extents[next].length, section);
          next++;
          continue;
        }
        const n = Math.min(entry.chunkSize, entry.size - next * entry.chunkSize);
        const data = queue.length === 0 ? o.allocate(n) : o.ahead.tryAllocate(n);
        if (data === null) break;
        queue.push(await start(reader, entry, next, extents[next], data.subarray(0, n), storedRoom(data, extents[next].length, o.ahead.capacity), section, o.ahead));
        next++;
      }
      const head = queue.shift();
      if (!head) return;
      try {
        await head.done;
      } catch (e) {
        o.ahead.release(head.data);
        throw e;
      }
      yield { index: head.index, data: head.data };
    }
  } finally {
    // Also when the consumer stops early or a chunk is refused: no decompression may still use a buffer.
    await Promise.allSettled(queue.map((p) => p.done));
    for (const p of queue) o.ahead.release(p.data);
  }
}

/** The end of the chunk's own buffer, where its stored bytes are read (a copy when a buffer's capacity is too short: never in an install's pool). */
function storedRoom(data: Buffer, length: number, capacity: number): Buffer {
  if (length > capacity) return Buffer.allocUnsafe(length);
  return Buffer.from(data.buffer, data.byteOffset + capacity - length, length);
}

/** Reads chunk i's stored bytes into the end of its buffer and starts decompressing them (not awaited: checked in turn). */
async function start(reader: ByteReader, entry: ImageEntry, i: number, extent: ChunkExtent, data: Buffer, scratch: Buffer, section: string, ahead: DecompressAhead): Promise<Pending> {
  let stored: Buffer;
  try {
    stored = await reader.read(extent.length, section, scratch);
  } catch (e) {
    ahead.release(data);
    throw e;
  }
  const done = decompressChunk(entry, i, stored, data);
  done.catch(() => undefined); // awaited in order; a later chunk refused first must not go unhandled
  return { index: i, data, done };
}
