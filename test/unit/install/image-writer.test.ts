// writeImage on a real O_DIRECT file: read-back only after every write is synced and the cache dropped; every failure is clean.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { isAbuError, type AbuError } from '../../../engine/core/errors';
import type { ProgressEvent } from '../../../engine/core/progress';
import type { BundleChunk, ImageEntry } from '../../../engine/bundle/bundle-reader';
import { BufferPool } from '../../../engine/install/buffer-pool';
import { writeImage } from '../../../engine/install/image-writer';
import { ProgressMeter } from '../../../engine/install/progress-meter';
import { BlockFileSlotHandle } from '../../../engine/slots/block-file-slot-handle';
import type { SlotHandle } from '../../../engine/slots/slot-store';
import type { ReadVerifyResult } from '../../../native/block-io';

const CHUNK = 64 * 1024;
const SIZE = 10 * CHUNK + 1000; // a sub-sector tail: the last chunk goes partly through the page cache
const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

type Event = { kind: 'written' | 'sync' | 'synced' | 'drop' | 'dropped' | 'read'; start?: number; end?: number };

/**
 * Wraps the real slot handle to record the order of completed writes, syncs and reads, and to inject
 * faults: the seam is faked only to observe and break it, the bytes still go to a real O_DIRECT file.
 */
class RecordingSlot implements SlotHandle {
  readonly events: Event[] = [];
  outstanding = 0;
  corruptReadAt = -1;
  failWriteAt = -1;
  failReadAt = -1;

  constructor(private readonly inner: SlotHandle) {}
  get target() { return this.inner.target; }
  get direct() { return this.inner.direct; }

  async verifyAndWrite(buf: Buffer, offset: number, crc32: number, sha256: Buffer): Promise<void> {
    if (offset === this.failWriteAt) throw Object.assign(new Error(`EIO: i/o error, write at ${offset}`), { code: 'EIO', errno: -5, syscall: 'write' });
    await this.track(this.inner.verifyAndWrite(buf, offset, crc32, sha256));
    this.events.push({ kind: 'written', start: offset, end: offset + buf.length });
  }
  write(buf: Buffer, offset: number): Promise<void> { return this.inner.write(buf, offset); }
  async read(buf: Buffer, offset: number): Promise<number> {
    this.events.push({ kind: 'read', start: offset, end: offset + buf.length });
    if (offset === this.failReadAt) throw Object.assign(new Error(`EIO: i/o error, read at ${offset}`), { code: 'EIO', errno: -5, syscall: 'read' });
    const got = await this.track(this.inner.read(buf, offset));
    if (this.corruptReadAt >= offset && this.corruptReadAt < offset + got) buf[this.corruptReadAt - offset] ^= 1;
    return got;
  }
  readVerify(buf: Buffer, offset: number, crc32: number, sha256: Buffer | null): Promise<ReadVerifyResult> {
    this.events.push({ kind: 'read', start: offset, end: offset + buf.length });
    return this.track(this.inner.readVerify(buf, offset, crc32, sha256));
  }
  async datasync(): Promise<void> {
    this.events.push({ kind: 'sync' });
    await this.track(this.inner.datasync());
    this.events.push({ kind: 'synced' });
  }
  async dropCache(): Promise<void> {
    this.events.push({ kind: 'drop' });
    await this.track(this.inner.dropCache());
    this.events.push({ kind: 'dropped' });
  }
  close(): Promise<void> { return this.inner.close(); }

  private async track<T>(p: Promise<T>): Promise<T> {
    this.outstanding++;
    try {
      return await p;
    } finally {
      this.outstanding--;
    }
  }
}

/** Every read must lie below the written prefix as it was when a sync (or cache drop) started that finished before the read. */
function assertReadsBehindSyncs(events: Event[]): void {
  const written: Array<[number, number]> = [];
  const prefix = (): number => {
    let end = 0;
    for (const [s, e] of [...written].sort((a, b) => a[0] - b[0])) if (s <= end) end = Math.max(end, e);
    return end;
  };
  const started: number[] = [];
  let covered = 0;
  for (const ev of events) {
    if (ev.kind === 'written') written.push([ev.start!, ev.end!]);
    else if (ev.kind === 'sync' || ev.kind === 'drop') started.push(prefix());
    else if (ev.kind === 'synced' || ev.kind === 'dropped') covered = Math.max(covered, started.shift()!);
    else assert.ok(ev.end! <= covered, `read of [${ev.start}, ${ev.end}) before an fdatasync covered it (covered: ${covered})`);
  }
}

describe('image writer', () => {
  let dir: string;
  let image: Buffer;
  let entry: ImageEntry;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'abu-writer-'));
    image = randomBytes(SIZE);
    const pieces = Array.from({ length: Math.ceil(SIZE / CHUNK) }, (_, i) => image.subarray(i * CHUNK, (i + 1) * CHUNK));
    entry = { name: 'rootfs', slotClass: 'rootfs', size: SIZE, chunkSize: CHUNK, chunkCrc32: pieces.map((p) => zlib.crc32(p)), chunkSha256: pieces.map(sha), sha256: sha(image), offset: 0, compression: 'none' };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function run(setup: (s: RecordingSlot) => void, opts: { readBack?: boolean; readBackChunks?: number[]; entry?: ImageEntry; sourceFailsAt?: number; poolSize?: number; bufferSize?: number } = {}): Promise<{ slot: RecordingSlot; events: ProgressEvent[]; error?: unknown }> {
    const file = path.join(dir, `slot-${randomBytes(4).toString('hex')}.img`);
    writeFileSync(file, Buffer.alloc(SIZE + CHUNK));
    const inner = await BlockFileSlotHandle.open({ slot: 'B', slotClass: 'rootfs', device: file, offset: 0, size: SIZE + CHUNK }, true);
    const slot = new RecordingSlot(inner);
    setup(slot);
    const pool = new BufferPool(opts.bufferSize ?? CHUNK, opts.poolSize ?? 4);
    const events: ProgressEvent[] = [];
    const meter = new ProgressMeter({ progress: (e) => events.push(e), log: () => undefined }, 'test', SIZE);
    const e = opts.entry ?? entry;
    async function* chunks(): AsyncGenerator<BundleChunk> {
      for (let i = 0; i * CHUNK < SIZE; i++) {
        if (i === opts.sourceFailsAt) throw new Error('source stalled');
        const piece = image.subarray(i * CHUNK, Math.min(SIZE, (i + 1) * CHUNK));
        const data = pool.take(piece.length);
        piece.copy(data);
        yield { image: e, index: i, offset: i * CHUNK, data, crc32: e.chunkCrc32[i], sha256: e.chunkSha256[i] };
      }
    }
    try {
      await writeImage(e, chunks(), slot, { pool, meter, readBack: opts.readBack ?? true, readBackChunks: opts.readBackChunks });
      return { slot, events };
    } catch (error) {
      return { slot, events, error };
    } finally {
      assert.equal(slot.outstanding, 0, 'no transfer may still be in flight once writeImage settles');
      await slot.close();
    }
  }

  for (const poolSize of [2, 4]) {
    it(`reads the whole image back once, in order, only after the synced writes and a cache drop (pool of ${poolSize})`, async () => {
      const { slot, events, error } = await run(() => undefined, { poolSize });
      assert.equal(error, undefined);
      assertReadsBehindSyncs(slot.events);
      const reads = slot.events.filter((e) => e.kind === 'read');
      assert.deepEqual(reads.map((r) => r.start), reads.map((_, i) => i * CHUNK));
      assert.equal(reads.at(-1)!.end, SIZE);
      assert.ok(slot.events.findIndex((e) => e.kind === 'read') > slot.events.findIndex((e) => e.kind === 'dropped'));
      const last = events.at(-1)!;
      assert.deepEqual([last.phase, last.bytesDone], ['readback', SIZE]);
    });
  }

  for (const at of [0, 3 * CHUNK + 5, SIZE - 1]) {
    it(`refuses a medium whose byte ${at} reads back flipped with ABU_ERR_READBACK`, async () => {
      const { error } = await run((s) => (s.corruptReadAt = at));
      assert.ok(isAbuError(error, 'ABU_ERR_READBACK'), String(error));
    });
  }

  // One SHA-256 pass per byte: the whole-image digest is checked by bundle create/inspect, not recomputed at install
  // (the signed chunk digests tile the image); the read-back checks the medium against the signed chunk CRC32s.
  for (const readBack of [true, false]) {
    it(`does not recompute the manifest's whole-image digest at install (read-back ${readBack ? 'on' : 'off'})`, async () => {
      const { slot, error } = await run(() => undefined, { readBack, entry: { ...entry, sha256: Buffer.alloc(32, 7) } });
      assert.equal(error, undefined);
      assert.equal(slot.events.some((e) => e.kind === 'read'), readBack);
    });
  }

  it('names the first chunk that reads back with another CRC32, with its offset and signed CRC32', async () => {
    const { error } = await run((s) => (s.corruptReadAt = 3 * CHUNK + 5));
    assert.ok(isAbuError(error, 'ABU_ERR_READBACK'), String(error));
    assert.deepEqual((error as AbuError).details, { image: 'rootfs', chunk: 3, offset: 3 * CHUNK, expectedCrc32: entry.chunkCrc32[3] >>> 0 });
  });

  // Pool buffers four chunks long (another image of the bundle has bigger chunks): reads span several chunks.
  for (const bufferSize of [CHUNK, 4 * CHUNK]) {
    it(`names the first chunk the medium returned differently, whatever the manifest's whole-image digest says (reads of ${bufferSize / CHUNK} chunk(s))`, async () => {
      const { error } = await run((s) => (s.corruptReadAt = 7 * CHUNK + 3), { entry: { ...entry, sha256: Buffer.alloc(32, 7) }, bufferSize });
      assert.ok(isAbuError(error, 'ABU_ERR_READBACK'), String(error));
      assert.deepEqual([(error as AbuError).details.chunk, (error as AbuError).details.offset], [7, 7 * CHUNK]);
    });

    it(`accepts an intact image whose reads span ${bufferSize / CHUNK} chunk(s), sub-sector tail included`, async () => {
      const { error } = await run(() => undefined, { bufferSize });
      assert.equal(error, undefined);
    });
  }

  // An adaptive install reads back only the chunks it wrote: runs of consecutive chunks, each read in pool-buffer pieces.
  for (const bufferSize of [CHUNK, 2 * CHUNK]) {
    it(`reads back only the chunks asked for, and the meter counts those bytes (reads of ${bufferSize / CHUNK} chunk(s))`, async () => {
      const { slot, events, error } = await run(() => undefined, { readBackChunks: [2, 3, 4, 7, 10], bufferSize });
      assert.equal(error, undefined);
      assertReadsBehindSyncs(slot.events);
      const reads = slot.events.filter((e) => e.kind === 'read').map((r) => [r.start, r.end]);
      const runs = bufferSize === CHUNK ? [[2, 3], [3, 4], [4, 5]] : [[2, 4], [4, 5]];
      assert.deepEqual(reads, [...runs, [7, 8]].map(([a, b]) => [a * CHUNK, b * CHUNK]).concat([[10 * CHUNK, SIZE]]));
      const last = events.at(-1)!;
      assert.deepEqual([last.phase, last.bytesDone, last.bytesTotal], ['readback', 4 * CHUNK + (SIZE - 10 * CHUNK), 4 * CHUNK + (SIZE - 10 * CHUNK)]);
    });

    it(`names the chunk that reads back wrong among the chunks asked for (reads of ${bufferSize / CHUNK} chunk(s))`, async () => {
      const { error } = await run((s) => (s.corruptReadAt = 7 * CHUNK + 3), { readBackChunks: [2, 3, 7, 10], bufferSize });
      assert.ok(isAbuError(error, 'ABU_ERR_READBACK'), String(error));
      assert.deepEqual([(error as AbuError).details.chunk, (error as AbuError).details.offset], [7, 7 * CHUNK]);
    });
  }

  it('reads nothing back and passes when no chunk is asked for (every chunk was kept)', async () => {
    const { slot, error } = await run((s) => (s.corruptReadAt = 3 * CHUNK), { readBackChunks: [] });
    assert.equal(error, undefined);
    assert.equal(slot.events.some((e) => e.kind === 'read'), false);
  });

  for (const chunk of [1, 5, 10]) {
    it(`stops with ABU_ERR_IO when the write of chunk ${chunk} fails, nothing left in flight`, async () => {
      const { slot, error } = await run((s) => (s.failWriteAt = chunk * CHUNK));
      assert.ok(isAbuError(error, 'ABU_ERR_IO'), String(error));
      assertReadsBehindSyncs(slot.events);
      assert.ok(!slot.events.some((e) => e.kind === 'read' && e.end! > chunk * CHUNK), 'nothing at or past the failed chunk was read back');
    });
  }

  it('stops with ABU_ERR_IO when a read-back fails, nothing left in flight', async () => {
    const { error } = await run((s) => (s.failReadAt = 4 * CHUNK));
    assert.ok(isAbuError(error, 'ABU_ERR_IO'), String(error));
    assert.match((error as Error).message, /reading back slot B at 262144/);
  });

  it('passes a source failure on with nothing left in flight and nothing read past what was synced', async () => {
    const { slot, error } = await run(() => undefined, { sourceFailsAt: 7 });
    assert.equal((error as Error).message, 'source stalled');
    assertReadsBehindSyncs(slot.events);
  });
});
