// Sha256Stream and sha256Async (threadpool SHA-256 through Node's OpenSSL) against node:crypto.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Sha256Stream, sha256Async } from '../../../native/crc32';

function sha(buf: Uint8Array): Buffer {
  return createHash('sha256').update(buf).digest();
}

function randomCuts(length: number, count: number): number[] {
  const cuts = Array.from({ length: count }, () => Math.floor(Math.random() * (length + 1)));
  return [0, ...cuts.sort((a, b) => a - b), length];
}

describe('native Sha256Stream', () => {
  it('equals node:crypto over 60 random inputs split at random points (awaited updates)', async () => {
    for (let i = 0; i < 60; i++) {
      const data = randomBytes(Math.floor(Math.random() * 200_000));
      const cuts = randomCuts(data.length, i % 6);
      const s = new Sha256Stream();
      for (let k = 1; k < cuts.length; k++) await s.update(data.subarray(cuts[k - 1], cuts[k]));
      assert.deepEqual(s.digest(), sha(data), `case ${i} cuts ${cuts.join(',')}`);
    }
  });

  it('applies updates in call order when the caller does not await each one', async () => {
    const data = randomBytes(3 << 20);
    const s = new Sha256Stream();
    const pending = [];
    for (let off = 0; off < data.length; off += 65_537) pending.push(s.update(data.subarray(off, off + 65_537)));
    await Promise.all(pending);
    assert.deepEqual(s.digest(), sha(data));
  });

  it('hashes the empty input and refuses digest() while an update runs', async () => {
    const empty = new Sha256Stream();
    assert.deepEqual(empty.digest(), sha(Buffer.alloc(0)));
    const s = new Sha256Stream();
    const p = s.update(randomBytes(1 << 20));
    assert.throws(() => s.digest(), /before every update\(\) settled/);
    await p;
    s.digest();
    await assert.rejects(s.update(Buffer.from('late')), /after digest/);
  });

  it('sha256Async equals node:crypto, many in flight', async () => {
    const bufs = Array.from({ length: 20 }, (_, i) => randomBytes(i * 10_007));
    const got = await Promise.all(bufs.map((b) => sha256Async(b)));
    bufs.forEach((b, i) => assert.deepEqual(got[i], sha(b)));
  });
});
