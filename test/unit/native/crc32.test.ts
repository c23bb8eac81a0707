// CRC-32 agreement: the addon (both kernels, sync and async) against the crc-32 package and zlib.crc32.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import * as CRC32 from 'crc-32';
import { crc32, crc32Async, crc32Info, crc32WithKernel } from '../../../native/crc32';

// Every length a kernel treats specially: around 8-byte slices, 16-byte lanes, 64-byte xmm/zmm steps, 256-byte zmm x4 steps.
const EDGE_LENGTHS = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 79, 80, 127, 128, 129, 191, 192, 255, 256, 257, 271, 319, 320, 321, 447, 511, 512, 513, 575, 767, 768, 1023, 1024, 1025, 4095, 4096, 4097, 65535, 65536, 65537];

/** Every kernel this CPU can run; crc32() uses the first, the others are checked directly. */
const KERNELS = crc32Info().kernels.filter((k) => k.available).map((k) => k.name);

function zlibCrc(buf: Uint8Array, seed = 0): number {
  return zlib.crc32(buf, seed);
}

/** A view starting `shift` bytes into a fresh allocation, so the kernel sees every address alignment. */
function shifted(len: number, shift: number): Uint8Array {
  return randomBytes(len + shift).subarray(shift);
}

function randomSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}

describe('native crc32', () => {
  it('matches zlib.crc32 and crc-32 on edge lengths at every alignment 0..63', () => {
    for (const len of EDGE_LENGTHS) {
      for (let shift = 0; shift < 64; shift++) {
        const buf = new Uint8Array(randomBytes(len + 64)).subarray(shift, shift + len);
        const want = zlibCrc(buf);
        assert.equal(crc32(buf), want, `len ${len} shift ${shift}`);
        for (const k of KERNELS) assert.equal(crc32WithKernel(k, buf), want, `${k} len ${len} shift ${shift}`);
        assert.equal(CRC32.buf(buf) >>> 0, want, `crc-32 package len ${len}`);
      }
    }
  });

  it('matches on 400 random lengths 0..100k with random alignments and seeds', () => {
    for (let i = 0; i < 400; i++) {
      const buf = shifted(Math.floor(Math.random() * 100_001), Math.floor(Math.random() * 16));
      const seed = randomSeed();
      assert.equal(crc32(buf), CRC32.buf(buf) >>> 0, `case ${i} len ${buf.length}`);
      assert.equal(crc32(buf, seed), zlibCrc(buf, seed), `case ${i} len ${buf.length} seed ${seed}`);
      for (const k of KERNELS) assert.equal(crc32WithKernel(k, buf, seed), zlibCrc(buf, seed), `${k} case ${i}`);
    }
  });

  it('chains seeds like zlib: crc32(b, crc32(a)) === crc32(a ++ b), over many split points', () => {
    const whole = randomBytes(70_000);
    const want = zlibCrc(whole);
    for (let i = 0; i < 200; i++) {
      const cuts = [0, ...Array.from({ length: 3 }, () => Math.floor(Math.random() * whole.length)).sort((a, b) => a - b), whole.length];
      let crc = 0;
      for (let k = 1; k < cuts.length; k++) crc = crc32(whole.subarray(cuts[k - 1], cuts[k]), crc);
      assert.equal(crc, want, `cuts ${cuts.join(',')}`);
    }
  });

  it('chains from zlib-style seeds identically to crc-32 with a seed', () => {
    for (let i = 0; i < 100; i++) {
      const a = randomBytes(Math.floor(Math.random() * 3000));
      const b = randomBytes(Math.floor(Math.random() * 3000));
      const viaPackage = CRC32.buf(b, CRC32.buf(a)) >>> 0;
      assert.equal(crc32(b, crc32(a)), viaPackage);
    }
  });

  it('crc32Async agrees with the sync version, including many calls in flight', async () => {
    const bufs = Array.from({ length: 40 }, (_, i) => shifted(i * 2500 + (i % 7), i % 13));
    const got = await Promise.all(bufs.map((b) => crc32Async(b)));
    bufs.forEach((b, i) => assert.equal(got[i], zlibCrc(b), `buffer ${i}`));
    assert.equal(await crc32Async(new Uint8Array(0)), 0);
  });

  it('gives the well-known check value and rejects non-byte input', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    assert.throws(() => crc32('123' as unknown as Uint8Array), TypeError);
    assert.throws(() => crc32(new Uint16Array(4) as unknown as Uint8Array), TypeError);
    assert.throws(() => crc32WithKernel('no-such' as 'pclmul', Buffer.alloc(1)), /unknown or not supported/);
  });
});
