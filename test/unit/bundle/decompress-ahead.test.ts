// zstd chunks decompressed ahead of the consumer: in order, the same bytes, only spare pool buffers, every buffer back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { loadKeyring, openBundle, type Keyring } from '../../../engine/bundle/bundle-reader';
import { zstdInPlaceMargin } from '../../../engine/bundle/chunk-layout';
import { BufferPool } from '../../../engine/install/buffer-pool';
import { bufferStream, makeKey, tempDir, writeKeyring, type TestKey } from '../../helpers/bundle-fixtures';
import { BASE_MANIFEST, compressibleImage, craftZstdBundle, zstdImage, type ZstdImage } from '../../helpers/compressed-fixtures';
import { expectCode } from './read-bundle';

const CHUNK = 64 * 1024;

/** The pool of an install, counting what the reader takes ahead and gives back (the real pool underneath). */
class CountingPool {
  readonly pool: BufferPool;
  takenAhead = 0;
  released = 0;
  constructor(count: number) {
    // As an install sizes its pool for a zstd image: room past each chunk for its stored bytes (decompressed in place).
    this.pool = new BufferPool(CHUNK + zstdInPlaceMargin(CHUNK), count);
  }
  ahead() {
    const real = this.pool.ahead();
    return { count: real.count, capacity: real.capacity, tryAllocate: (n: number) => { const b = real.tryAllocate(n); if (b) this.takenAhead++; return b; }, release: (b: Buffer) => { this.released++; real.release(b); } };
  }
  /** Every buffer is free again: takes them all (throws if one is missing), then gives them back. */
  assertAllFree(): void {
    const all = Array.from({ length: this.pool.count }, () => this.pool.take(this.pool.bufferSize));
    assert.equal(this.pool.tryTake(CHUNK), null);
    for (const b of all) this.pool.give(b);
  }
}

describe('zstd chunks decompressed ahead', () => {
  let key: TestKey;
  let keyring: Keyring;
  let cleanup: () => Promise<void>;
  let data: Buffer;
  let image: ZstdImage;

  before(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    key = makeKey();
    keyring = await loadKeyring(await writeKeyring(dir, [key]));
    data = compressibleImage(9 * CHUNK + 1000, 'root');
    image = await zstdImage('rootfs', 'rootfs', data, CHUNK);
  });
  after(async () => cleanup?.());

  /** Consumes the image's chunks as the installer does (one pool buffer per chunk, given back once used). */
  async function consume(bundle: Buffer, p: CountingPool, o: { skip?: (i: number) => boolean; stopAfter?: number; onChunk?: (index: number) => void } = {}) {
    const opened = await openBundle(bufferStream(bundle, 4096), keyring);
    const got = new Map<number, Buffer>();
    try {
      for await (const { chunks } of opened.images({ allocate: (n) => p.pool.take(n), skip: o.skip && ((_e, i) => o.skip!(i)), decompressAhead: p.ahead() })) {
        for await (const c of chunks) {
          o.onChunk?.(c.index);
          got.set(c.index, Buffer.from(c.data));
          p.pool.give(c.data);
          if (got.size === o.stopAfter) break;
        }
      }
    } finally {
      opened.close();
    }
    return got;
  }

  it('starts decompressing the next chunks in spare pool buffers before the consumer asks for them', async () => {
    const p = new CountingPool(4);
    let aheadAtFirst = -1;
    const got = await consume(craftZstdBundle(BASE_MANIFEST, [image], [key]), p, { onChunk: (i) => void (i === 0 && (aheadAtFirst = p.takenAhead)) });
    assert.equal(aheadAtFirst, 3, 'when chunk 0 is handed out, chunks 1-3 are being decompressed in the 3 other buffers');
    assert.ok(Buffer.concat([...got.values()]).equals(data), 'the same bytes, in order');
    p.assertAllFree();
  });

  it('reads each stored chunk into the end of its own pool buffer: no memory beyond the pool for stored bytes', async () => {
    // Incompressible chunks: stored bytes as large as the chunk, as the largest chunks of a real root filesystem are.
    const bytes = randomBytes(6 * CHUNK + 500);
    const random = await zstdImage('rootfs', 'rootfs', bytes, CHUNK);
    const p = new CountingPool(3);
    const bundle = craftZstdBundle(BASE_MANIFEST, [random], [key]);
    const slow = Buffer.allocUnsafeSlow;
    const unsafe = Buffer.allocUnsafe;
    const big: number[] = [];
    // Spied for the consume only: a buffer of a stored chunk's size made outside the pool is what this guards against.
    Buffer.allocUnsafeSlow = (n: number) => (n >= CHUNK / 2 && big.push(n), slow(n));
    Buffer.allocUnsafe = (n: number) => (n >= CHUNK / 2 && big.push(n), unsafe(n));
    let got: Map<number, Buffer>;
    try {
      got = await consume(bundle, p);
    } finally {
      Buffer.allocUnsafeSlow = slow;
      Buffer.allocUnsafe = unsafe;
    }
    assert.deepEqual(big, [], 'no chunk-sized buffer allocated outside the pool');
    assert.ok(p.takenAhead > 0, 'chunks were decompressed ahead');
    assert.ok(Buffer.concat([...got.values()]).equals(bytes), 'the same bytes, in order');
    p.assertAllFree();
  });

  it('skips the chunks not wanted (an adaptive install) and yields the others in order', async () => {
    const p = new CountingPool(3);
    const order: number[] = [];
    const got = await consume(craftZstdBundle(BASE_MANIFEST, [image], [key]), p, { skip: (i) => i % 3 === 1, onChunk: (i) => order.push(i) });
    assert.deepEqual(order, [0, 2, 3, 5, 6, 8, 9]);
    for (const [i, b] of got) assert.ok(b.equals(data.subarray(i * CHUNK, (i + 1) * CHUNK)), `chunk ${i}`);
    p.assertAllFree();
  });

  it('a consumer that stops early gets back every buffer decompressed ahead', async () => {
    const p = new CountingPool(4);
    await consume(craftZstdBundle(BASE_MANIFEST, [image], [key]), p, { stopAfter: 2 });
    assert.ok(p.released >= 1, 'chunks decompressed ahead and never handed out were given back');
    p.assertAllFree();
  });

  it('refuses a damaged chunk in its turn: the chunks before it are handed out first, and every buffer comes back', async () => {
    const damaged = { entry: { ...image.entry, chunkStoredCrc32: [...image.entry.chunkStoredCrc32!] }, frames: image.frames };
    damaged.entry.chunkStoredCrc32![4] ^= 1;
    const p = new CountingPool(4);
    const order: number[] = [];
    const e = await expectCode(consume(craftZstdBundle(BASE_MANIFEST, [damaged], [key], { keepTables: true }), p, { onChunk: (i) => order.push(i) }), 'ABU_ERR_CHUNK_CRC');
    assert.equal(e.details.chunk, 4);
    assert.deepEqual(order, [0, 1, 2, 3]);
    p.assertAllFree();
  });
});
