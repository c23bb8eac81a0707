// BlockFile writes and reads on image files: verify-then-write, unaligned tails/heads/buffers, >4 GiB offsets.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { BlockFile, VerifyError, allocAligned } from '../../../native/block-io';
import { makeTempDir, misaligned, randomInt, removeDir } from './native-fixtures';

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const GiB = 2 ** 30;

describe('native BlockFile writes', () => {
  let dir: string;
  before(() => {
    dir = makeTempDir();
  });
  after(() => removeDir(dir));

  async function withFile<T>(name: string, initial: Buffer, fn: (f: BlockFile, file: string) => Promise<T>): Promise<T> {
    const file = path.join(dir, name);
    writeFileSync(file, initial);
    const f = await BlockFile.open(file, { write: true });
    try {
      return await fn(f, file);
    } finally {
      await f.close();
    }
  }

  it('reports O_DIRECT consistently and the file geometry', async () => {
    await withFile('geo.img', Buffer.alloc(12345), async (f) => {
      assert.equal(f.size, 12345);
      assert.equal(f.logicalSectorSize, 512);
      assert.equal(f.blockDevice, false);
      assert.equal(f.direct, f.directFallbackReason === undefined, 'a fallback always carries its reason');
    });
  });

  it('verifyAndWrite writes the chunk when CRC-32 and SHA-256 match', async () => {
    const initial = Buffer.alloc(1 << 20, 0xaa);
    for (const [offset, len] of [[0, 65536], [4096, 100_000], [700_001, 3333], [1 << 20, 8192]]) {
      const chunk = randomBytes(len);
      const want = Buffer.concat([initial, Buffer.alloc(Math.max(0, offset + len - initial.length))]);
      chunk.copy(want, offset);
      await withFile('match.img', initial, async (f, file) => {
        await f.verifyAndWrite(chunk, offset, zlib.crc32(chunk), sha(chunk));
        await f.datasync();
        assert.deepEqual(readFileSync(file), want, `offset ${offset} len ${len}`);
      });
    }
  });

  it('verifyAndWrite writes NOTHING on a CRC-32 or SHA-256 mismatch', async () => {
    const initial = randomBytes(256 * 1024);
    for (let i = 0; i < 24; i++) {
      const len = i % 3 === 0 ? 4096 * randomInt(1, 16) : randomInt(1, 70_000);
      const offset = i % 2 === 0 ? 512 * randomInt(0, 600) : randomInt(0, 300_000);
      const chunk = randomBytes(len);
      const badCrc = (zlib.crc32(chunk) ^ (1 << i % 32)) >>> 0;
      const badSha = sha(chunk);
      badSha[i % 32] ^= 0x40;
      const kind = i % 2 === 0 ? 'crc32' : 'sha256';
      await withFile('mismatch.img', initial, async (f, file) => {
        const attempt = kind === 'crc32' ? f.verifyAndWrite(chunk, offset, badCrc, sha(chunk)) : f.verifyAndWrite(chunk, offset, zlib.crc32(chunk), badSha);
        await assert.rejects(attempt, (e: unknown) => {
          assert.ok(e instanceof VerifyError);
          assert.equal(e.kind, kind);
          assert.equal(e.offset, offset);
          assert.equal(e.expected, kind === 'crc32' ? badCrc.toString(16).padStart(8, '0') : badSha.toString('hex'));
          assert.equal(e.actual, kind === 'crc32' ? zlib.crc32(chunk).toString(16).padStart(8, '0') : sha(chunk).toString('hex'));
          return true;
        });
        await f.datasync();
        assert.deepEqual(readFileSync(file), initial, `case ${i}: ${kind} len ${len} offset ${offset}`);
      });
    }
  });

  it('unaligned offsets, lengths and buffers (some in flight together) match a byte model', async () => {
    const model = randomBytes(256 * 1024);
    await withFile('model.img', model, async (f, file) => {
      for (let round = 0; round < 30; round++) {
        const writes = Array.from({ length: 4 }, (_, q) => {
          const quarter = model.length / 4;
          const len = round % 5 === 0 ? 512 * randomInt(0, 8) : randomInt(0, 9000);
          const offset = q * quarter + (round % 3 === 0 ? 512 * randomInt(0, 20) : randomInt(0, quarter - len));
          const data = randomBytes(len);
          data.copy(model, offset);
          const buf = round % 2 === 0 ? misaligned(data, randomInt(1, 7)) : Buffer.from(data);
          return f.write(buf, offset);
        });
        await Promise.all(writes);
      }
      await f.datasync();
      assert.deepEqual(readFileSync(file), model);
    });
  });

  it('reads unaligned ranges after dropCache, short only at end of file', async () => {
    const model = randomBytes(300_001);
    await withFile('read.img', model, async (f) => {
      await f.dropCache();
      for (let i = 0; i < 80; i++) {
        const offset = i % 4 === 0 ? 512 * randomInt(0, 600) : randomInt(0, model.length + 100);
        const len = i % 5 === 0 ? 4096 * randomInt(1, 4) : randomInt(0, 20_000);
        const buf = i % 2 === 0 ? allocAligned(len) : misaligned(Buffer.alloc(len), randomInt(1, 7));
        const got = await f.read(buf, offset);
        const want = model.subarray(Math.min(offset, model.length), offset + len);
        assert.equal(got, want.length, `offset ${offset} len ${len}`);
        assert.deepEqual(buf.subarray(0, got), want);
      }
    });
  });

  it('writes and reads back at offsets beyond 4 GiB on a sparse file', async () => {
    const cases: Array<[number, number]> = [[4 * GiB + 12345, 70_001], [6 * GiB, 1 << 20], [5 * GiB - 100, 200]];
    await withFile('sparse.img', Buffer.alloc(0), async (f, file) => {
      for (const [offset, len] of cases) {
        const chunk = randomBytes(len);
        await f.verifyAndWrite(chunk, offset, zlib.crc32(chunk), sha(chunk));
        await f.dropCache();
        const back = allocAligned(len);
        assert.equal(await f.read(back, offset), len);
        assert.deepEqual(back, chunk, `offset ${offset}`);
        const viaFs = Buffer.alloc(len);
        const fd = openSync(file, 'r');
        readSync(fd, viaFs, 0, len, offset);
        closeSync(fd);
        assert.deepEqual(viaFs, chunk, `node:fs view at ${offset}`);
      }
      assert.equal(statSync(file).size, 6 * GiB + (1 << 20));
    });
  });
});
