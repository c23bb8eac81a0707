// deviceInfo and BlockFile on real targets: files, tmpfs, ramfs (O_DIRECT refused) and loop devices (root).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { BlockFile, NativeIoError, allocAligned, deviceInfo } from '../../../native/block-io';
import { attachLoop, detachLoop, loopUnavailableReason, makeTempDir, mountRamfs, randomInt, removeDir, unmountRamfs } from './native-fixtures';

const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/** Chunk i of roundTrip: whole sectors, then an image's last chunk (sub-sector tail), then one ending at `span` (sub-sector head). */
function chunkPlace(i: number, sector: number, span: number): [number, number] {
  if (i === 10) return [sector * 3, sector + 123];
  if (i === 11) return [span - (sector + 77), sector + 77];
  const len = sector * randomInt(1, 64);
  return [sector * randomInt(0, (span - len) / sector), len];
}

/** Writes random chunks (aligned and not), drops the cache and reads everything back through the same handle. */
async function roundTrip(f: BlockFile, span: number): Promise<void> {
  const model = Buffer.alloc(span);
  for (let i = 0; i < 12; i++) {
    const [offset, len] = chunkPlace(i, f.logicalSectorSize, span);
    const chunk = randomBytes(len);
    chunk.copy(model, offset);
    await f.verifyAndWrite(chunk, offset, zlib.crc32(chunk), sha(chunk));
  }
  await f.datasync();
  await f.dropCache();
  const back = allocAligned(span);
  assert.equal(await f.read(back, 0), span);
  assert.deepEqual(back, model);
}

describe('native deviceInfo and targets', () => {
  let dir: string;
  before(() => {
    dir = makeTempDir();
  });
  after(() => removeDir(dir));

  it('deviceInfo on a regular file reports st_size, 512 and not a block device', async () => {
    for (const size of [0, 1, 511, 4096, 1_000_003]) {
      const file = path.join(dir, `info-${size}.img`);
      writeFileSync(file, Buffer.alloc(size));
      assert.deepEqual(await deviceInfo(file), { size, logicalSectorSize: 512, blockDevice: false });
    }
  });

  it('on tmpfs (/dev/shm) O_DIRECT is used where the kernel allows it, else the fallback says why', async function () {
    if (!existsSync('/dev/shm')) this.skip(); // no tmpfs mounted on this machine
    const shm = makeTempDir('/dev/shm');
    try {
      writeFileSync(path.join(shm, 't.img'), Buffer.alloc(1 << 20));
      const f = await BlockFile.open(path.join(shm, 't.img'), { write: true });
      // tmpfs refuses O_DIRECT before Linux 6.6 and accepts it since; both must be reported truthfully.
      if (!f.direct) assert.match(f.directFallbackReason ?? '', /EINVAL.*direct I\/O/);
      await roundTrip(f, 1 << 20);
      await f.close();
    } finally {
      removeDir(shm);
    }
  });

  describe('on ramfs, which refuses O_DIRECT', () => {
    let ramfs: string | undefined;
    before(() => {
      ramfs = mountRamfs();
    });
    after(() => unmountRamfs(ramfs));

    it('falls back to buffered I/O with direct=false and a reason, and still round-trips', async function () {
      if (!ramfs) this.skip(); // mounting ramfs needs root
      const f = await BlockFile.open(path.join(ramfs, 'r.img'), { write: true, create: true });
      assert.equal(f.direct, false);
      assert.match(f.directFallbackReason ?? '', /O_DIRECT.*EINVAL/);
      await roundTrip(f, 256 * 1024);
      await f.close();
      const plain = await BlockFile.open(path.join(ramfs, 'r.img'), { write: false, direct: false });
      assert.equal(plain.direct, false);
      assert.equal(plain.directFallbackReason, undefined, 'no reason when O_DIRECT was not asked for');
      await plain.close();
    });
  });

  for (const sectorSize of [512, 4096]) {
    describe(`on a loop device with ${sectorSize}-byte sectors`, () => {
      let dev: string | undefined;
      let backing: string;
      const size = 32 << 20;
      before(function () {
        const reason = loopUnavailableReason();
        if (reason) this.skip(); // loop devices need root and losetup
        backing = path.join(dir, `loop-${sectorSize}.img`);
        writeFileSync(backing, Buffer.alloc(size));
        dev = attachLoop(backing, sectorSize);
      });
      after(() => detachLoop(dev));

      it('deviceInfo uses BLKGETSIZE64 and BLKSSZGET', async () => {
        assert.deepEqual(await deviceInfo(dev!), { size, logicalSectorSize: sectorSize, blockDevice: true });
      });

      it('writes with O_DIRECT, including sub-sector heads and tails, and reads back from the medium after dropCache', async () => {
        const f = await BlockFile.open(dev!, { write: true });
        assert.equal(f.blockDevice, true);
        assert.equal(f.logicalSectorSize, sectorSize);
        assert.equal(f.direct, true);
        await roundTrip(f, 4 << 20);
        const last = randomBytes(sectorSize + 77); // an image's last chunk: aligned start, sub-sector tail
        await f.write(last, size - 2 * sectorSize);
        await f.datasync();
        await f.close();
        const onDisk = readFileSync(backing);
        assert.deepEqual(onDisk.subarray(size - 2 * sectorSize, size - sectorSize + 77), last);
        assert.deepEqual(onDisk.subarray(size - sectorSize + 77), Buffer.alloc(sectorSize - 77), 'bytes after the tail untouched');
      });

      it('a write running past the end of the device fails with ENOSPC at the end, after writing what fits', async () => {
        const f = await BlockFile.open(dev!, { write: true });
        const data = randomBytes(2 * sectorSize);
        await assert.rejects(f.write(data, size - sectorSize), (e: unknown) => {
          assert.ok(e instanceof NativeIoError);
          assert.deepEqual([e.code, e.syscall, e.path, e.offset], ['ENOSPC', 'write', dev, size]);
          return true;
        });
        await f.dropCache();
        const back = allocAligned(2 * sectorSize);
        assert.equal(await f.read(back, size - sectorSize), sectorSize, 'a read stops at the end of the device');
        assert.deepEqual(back.subarray(0, sectorSize), data.subarray(0, sectorSize));
        await f.close();
      });

      it('an exclusive open claims the device: a second exclusive open fails with EBUSY', async () => {
        const first = await BlockFile.open(dev!, { write: true, exclusive: true });
        try {
          await assert.rejects(BlockFile.open(dev!, { write: true, exclusive: true }), (e: unknown) => {
            assert.ok(e instanceof NativeIoError);
            assert.deepEqual([e.code, e.errno, e.syscall, e.path], ['EBUSY', -16, 'open', dev]);
            return true;
          });
          const shared = await BlockFile.open(dev!, { write: false });
          await shared.close();
        } finally {
          await first.close();
        }
        const again = await BlockFile.open(dev!, { write: true, exclusive: true });
        await again.close();
      });
    });
  }
});
