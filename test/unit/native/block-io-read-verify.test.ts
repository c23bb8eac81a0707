// BlockFile.readVerify: one threadpool job that reads a chunk, CRC-32s it and SHA-256s it only when the CRC-32 matches.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { BlockFile, allocAligned } from '../../../native/block-io';
import { makeTempDir, misaligned, removeDir } from './native-fixtures';

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const CHUNK = 64 * 1024;

describe('native BlockFile.readVerify', () => {
  let dir: string;
  let data: Buffer;
  let f: BlockFile;
  before(async () => {
    dir = makeTempDir();
    data = randomBytes(4 * CHUNK + 1000); // the last chunk is short and ends off a sector boundary
    const file = path.join(dir, 'slot.img');
    writeFileSync(file, data);
    f = await BlockFile.open(file, { write: false });
  });
  after(async () => {
    await f?.close();
    removeDir(dir);
  });

  const chunk = (i: number) => data.subarray(i * CHUNK, Math.min(data.length, (i + 1) * CHUNK));

  it('reports a chunk that matches its CRC-32 and SHA-256, with its bytes in the buffer', async () => {
    const buf = allocAligned(CHUNK);
    const r = await f.readVerify(buf, 2 * CHUNK, zlib.crc32(chunk(2)), sha(chunk(2)));
    assert.deepEqual(r, { bytes: CHUNK, crc32: zlib.crc32(chunk(2)), sha256Match: true });
    assert.ok(buf.equals(chunk(2)));
  });

  it('does not compute the SHA-256 when the CRC-32 differs: a right SHA-256 behind a wrong CRC-32 is not a match', async () => {
    const wrongCrc = (zlib.crc32(chunk(1)) ^ 1) >>> 0;
    const r = await f.readVerify(allocAligned(CHUNK), CHUNK, wrongCrc, sha(chunk(1)));
    assert.deepEqual(r, { bytes: CHUNK, crc32: zlib.crc32(chunk(1)), sha256Match: false }, 'the CRC-32 returned is the one of the bytes read');
  });

  it('reports a SHA-256 mismatch behind a matching CRC-32 (a CRC-32 look-alike)', async () => {
    const wrongSha = sha(chunk(0));
    wrongSha[31] ^= 1;
    const r = await f.readVerify(allocAligned(CHUNK), 0, zlib.crc32(chunk(0)), wrongSha);
    assert.deepEqual(r, { bytes: CHUNK, crc32: zlib.crc32(chunk(0)), sha256Match: false });
  });

  it('reads short at the end of the target and checks the bytes read', async () => {
    const last = chunk(4);
    const r = await f.readVerify(allocAligned(CHUNK), 4 * CHUNK, zlib.crc32(last), sha(last));
    assert.deepEqual(r, { bytes: last.length, crc32: zlib.crc32(last), sha256Match: true });
    const past = await f.readVerify(allocAligned(CHUNK), data.length, 0, sha(Buffer.alloc(0)));
    assert.equal(past.bytes, 0, 'nothing to read past the end');
  });

  it('handles an unaligned buffer and offset like read() (bounce buffer, buffered head and tail)', async () => {
    const offset = CHUNK + 100;
    const want = data.subarray(offset, offset + 5000);
    const buf = misaligned(Buffer.alloc(5000), 3);
    const r = await f.readVerify(buf, offset, zlib.crc32(want), sha(want));
    assert.deepEqual(r, { bytes: 5000, crc32: zlib.crc32(want), sha256Match: true });
    assert.ok(buf.equals(want));
    const viaRead = misaligned(Buffer.alloc(5000), 5);
    assert.equal(await f.read(viaRead, offset), 5000);
    assert.ok(viaRead.equals(buf), 'the same bytes as read()');
  });

  it('with no expected SHA-256 computes the CRC-32 only', async () => {
    const r = await f.readVerify(allocAligned(CHUNK), 3 * CHUNK, zlib.crc32(chunk(3)), null);
    assert.deepEqual(r, { bytes: CHUNK, crc32: zlib.crc32(chunk(3)), sha256Match: false });
  });

  it('refuses a wrong-sized SHA-256, a negative offset, and a non-buffer before any I/O', async () => {
    assert.throws(() => f.readVerify(allocAligned(CHUNK), 0, 0, Buffer.alloc(31)), RangeError);
    assert.throws(() => f.readVerify(allocAligned(CHUNK), -1, 0, null), RangeError);
    assert.throws(() => f.readVerify('x' as unknown as Buffer, 0, 0, null), TypeError);
  });

  it('rejects like read() once closed (EBADF), with the syscall named', async () => {
    const other = await BlockFile.open(path.join(dir, 'slot.img'), { write: false });
    await other.close();
    await assert.rejects(other.readVerify(allocAligned(CHUNK), 0, 0, null), (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'read');
  });
});
