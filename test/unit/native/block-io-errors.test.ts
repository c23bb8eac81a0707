// Native error shape (code, errno, syscall, path like Node's fs errors) and the event loop staying free.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as zlib from 'node:zlib';
import { BlockFile, NativeIoError, allocAligned } from '../../../native/block-io';
import { makeTempDir, removeDir } from './native-fixtures';

function assertIoError(e: unknown, code: string, errno: number, syscall: string, file: string): true {
  assert.ok(e instanceof NativeIoError, `not a NativeIoError: ${String(e)}`);
  assert.equal(e.code, code);
  assert.equal(e.errno, errno);
  assert.equal(e.syscall, syscall);
  assert.equal(e.path, file);
  assert.match(e.message, new RegExp(`^${code}: .*${syscall} '${file}'`));
  return true;
}

describe('native I/O errors and concurrency', () => {
  let dir: string;
  before(() => {
    dir = makeTempDir();
  });
  after(() => removeDir(dir));

  it('opening a missing path fails with ENOENT from open, for every mode', async () => {
    const missing = path.join(dir, 'no-such-dir', 'slot.img');
    for (const opts of [{ write: false }, { write: true }, { write: true, direct: false }, { write: true, create: true }]) {
      await assert.rejects(BlockFile.open(missing, opts), (e) => assertIoError(e, 'ENOENT', -2, 'open', missing));
    }
  });

  it('writing through a read-only handle fails with EBADF from write, with the offset', async () => {
    const file = path.join(dir, 'ro.img');
    writeFileSync(file, Buffer.alloc(8192));
    for (const direct of [true, false]) {
      const f = await BlockFile.open(file, { write: false, direct });
      await assert.rejects(f.write(allocAligned(4096), 4096), (e) => {
        assertIoError(e, 'EBADF', -9, 'write', file);
        assert.equal((e as NativeIoError).offset, 4096);
        return true;
      });
      await f.close();
      await assert.rejects(f.read(Buffer.alloc(16), 0), (e) => assertIoError(e, 'EBADF', -9, 'read', file));
    }
  });

  it('keeps the event loop ticking during a 64 MiB verifyAndWrite series', async () => {
    const base = existsSync('/dev/shm') ? '/dev/shm' : dir; // tmpfs: the hashing, not the disk, dominates
    const tmp = makeTempDir(base);
    const chunks = Array.from({ length: 4 }, () => randomBytes(16 << 20));
    const sums = chunks.map((c) => ({ crc: zlib.crc32(c), sha: createHash('sha256').update(c).digest() }));
    const f = await BlockFile.open(path.join(tmp, 'loop.img'), { write: true, create: true });
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 1);
    let syncMs = 0;
    const started = performance.now();
    try {
      for (let i = 0; i < chunks.length; i += 2) {
        const callStart = performance.now();
        const writes = [0, 1].map((k) => f.verifyAndWrite(chunks[i + k], (i + k) * (16 << 20), sums[i + k].crc, sums[i + k].sha));
        syncMs += performance.now() - callStart;
        await Promise.all(writes);
      }
    } finally {
      clearInterval(timer);
      await f.close();
      removeDir(tmp);
    }
    const totalMs = performance.now() - started;
    // Independent of machine load: hashing or writing on the main thread would happen inside the synchronous part of
    // the call (all of totalMs); in the threadpool that part is only the argument checks and the queueing.
    assert.ok(syncMs < totalMs * 0.1, `the calls blocked for ${syncMs.toFixed(0)} of ${totalMs.toFixed(0)} ms`);
    assert.ok(ticks >= 5, `only ${ticks} timer ticks in ${totalMs.toFixed(0)} ms`);
  });
});
