// "Any failure after the target was marked bad leaves it not verified and not primary, always": an install into a
// slot that held a verified, activated release fails at each point after the mark-bad, and the state and boot
// flags must never claim the target verified or bootable.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { DEFAULT_LIMITS, decodeHeader, payloadStart } from '../../../engine/bundle/framing';
import { AbuError, isAbuError } from '../../../engine/core/errors';
import type { SlotName } from '../../../engine/core/slot';
import type { SlotHandle, SlotStore } from '../../../engine/slots/slot-store';
import { FileSource } from '../../../engine/sources/file-source';
import type { ImageSource } from '../../../engine/sources/image-source';
import { cancellable } from '../../../engine/transports/http/operation-runner';
import { FaultySlotStore } from '../../helpers/faulty-slot-store';
import { bufferSource, simFixture, slotBytes, type SimFixture } from '../../helpers/sim-fixture';
import { readState } from './appliance-procs';

const MIB = 1024 * 1024;

/**
 * Another writer strikes between abu's last write and its read-back (the tester's race, by a tool that takes no
 * lock, such as dd): the bytes on disk really change; the wrapper only times it. Only the timing is staged.
 */
function rogueWriterBeforeReadBack(real: SlotStore, diskImage: string): SlotStore {
  return Object.assign(Object.create(real) as SlotStore, {
    async openForWrite(target: Parameters<SlotStore['openForWrite']>[0], booted: SlotName): Promise<SlotHandle> {
      const handle = await real.openForWrite(target, booted);
      return Object.assign(Object.create(handle) as SlotHandle, {
        async datasync() {
          await handle.datasync();
          const fh = await fs.open(diskImage, 'r+');
          await fh.write(Buffer.from('BROKEN-IMAGE!!'), 0, 14, target.offset);
          await fh.close();
        },
      });
    },
  });
}

/** Calls `then` once the first chunk is on disk (the real store writes it; this only observes). */
function afterFirstWrite(real: SlotStore, then: () => void): SlotStore {
  return Object.assign(Object.create(real) as SlotStore, {
    async openForWrite(target: Parameters<SlotStore['openForWrite']>[0], booted: SlotName): Promise<SlotHandle> {
      const handle = await real.openForWrite(target, booted);
      return Object.assign(Object.create(handle) as SlotHandle, {
        async verifyAndWrite(buf: Buffer, offset: number, crc: number, sha: Buffer) {
          await handle.verifyAndWrite(buf, offset, crc, sha);
          then();
        },
      });
    },
  });
}

interface FailurePoint {
  name: string;
  code: string;
  message?: RegExp;
  /** Sets up the failure on the fixture and returns the source to install from. */
  arrange(f: SimFixture, bundle: Buffer, controller: AbortController): ImageSource;
}

describe('a failed install never leaves its target verified or bootable', function () {
  this.timeout(60_000);
  let f: SimFixture;
  let bundle: Buffer;
  let chunk1 = 0;
  let realSlots: SlotStore;

  before(async () => {
    // 6 MiB images in 4 MiB chunks: a failure can fall on the first chunk or after one is on disk.
    f = await simFixture({ slotSize: 8 * MIB, imageSize: 6 * MIB });
    bundle = await fs.readFile(f.sim.bundles[0]);
    chunk1 = payloadStart(decodeHeader(bundle.subarray(0, 32), DEFAULT_LIMITS)) + 4 * MIB;
    realSlots = f.engine.parts.slots;
  });
  after(async () => f?.cleanup());
  afterEach(() => {
    f.engine.parts.slots = realSlots;
  });

  const points: FailurePoint[] = [
    { name: 'EIO writing the first chunk', code: 'ABU_ERR_IO', arrange: (fx) => ((fx.engine.parts.slots = new FaultySlotStore(realSlots, 0)), new FileSource(fx.sim.bundles[0])) },
    { name: 'EIO writing the second chunk, the first on disk', code: 'ABU_ERR_IO', arrange: (fx) => ((fx.engine.parts.slots = new FaultySlotStore(realSlots, 4 * MIB)), new FileSource(fx.sim.bundles[0])) },
    { name: 'the source failing after the first chunk', code: 'ABU_ERR_SOURCE', arrange: (_fx, b) => bufferSource(b, { failAt: chunk1 + 64 * 1024, mode: 'error' }) },
    { name: 'a bundle cut short after the first chunk', code: 'ABU_ERR_BUNDLE_TRUNCATED', arrange: (_fx, b) => bufferSource(b.subarray(0, chunk1 + 64 * 1024)) },
    {
      // As the daemon's Cancel does it: the stalled source is broken with the cancel reason, whose code survives.
      name: 'a cancel while the source stalls after the first chunk',
      code: 'ABU_ERR_CANCELLED',
      message: /cancelled by the test/,
      arrange(fx, b, controller) {
        fx.engine.parts.slots = afterFirstWrite(realSlots, () => controller.abort(new AbuError('ABU_ERR_CANCELLED', 'cancelled by the test')));
        return cancellable(bufferSource(b, { failAt: chunk1 + 64 * 1024, mode: 'stall' }), controller.signal);
      },
    },
    { name: 'other bytes found at read-back', code: 'ABU_ERR_READBACK', arrange: (fx) => ((fx.engine.parts.slots = rogueWriterBeforeReadBack(realSlots, fx.sim.diskImage)), new FileSource(fx.sim.bundles[0])) },
    { name: 'bytes after the last image, found once the image verified', code: 'ABU_ERR_BUNDLE_TRAILING', arrange: (_fx, b) => bufferSource(Buffer.concat([b, Buffer.alloc(4096)])) },
  ];

  for (const p of points) {
    it(`${p.name}: ${p.code}, B not verified and not bootable, nothing pending`, async () => {
      // Start from B holding a verified 1.1.0 that is activated (primary, on trial at the next boot).
      await f.engine.install(new FileSource(f.sim.bundles[0]));
      const before = await readState(f.sim);
      assert.deepEqual([before.slots.B.verified, before.pending?.slot], [true, 'B']);

      const controller = new AbortController();
      const source = p.arrange(f, bundle, controller);
      // Not adaptive: B already holds this very image, so an adaptive install would write nothing and none of these
      // write-path failures could happen (adaptive failures are in test/integration/install/adaptive-install.test.ts).
      await assert.rejects(f.engine.install(source, { signal: controller.signal, adaptive: false }), (e) => isAbuError(e) && e.code === p.code && (!p.message || p.message.test(e.message)));

      const s = await readState(f.sim);
      assert.equal(s.slots.B.verified, false, JSON.stringify(s.slots.B));
      assert.equal(s.slots.B.manifestSha256, '');
      assert.equal(s.pending, null);
      assert.equal(s.lastError.code, p.code);
      const status = await f.engine.status();
      const b = status.slots.find((v) => v.name === 'B')!;
      const a = status.slots.find((v) => v.name === 'A')!;
      assert.deepEqual([b.state, b.primary, b.image], ['bad', false, 'incomplete']);
      assert.deepEqual([a.state, a.primary], ['good', true], 'A boots next');
      await assert.rejects(f.engine.activate('B'), (e) => isAbuError(e, 'ABU_ERR_NOT_INSTALLED'), 'an unverified slot cannot be activated');
    });
  }

  it('a boot-flag write failing after the image verified: not bootable, and "verified" only for the bytes this run verified', async () => {
    await f.engine.install(new FileSource(f.sim.bundles[0]));
    const boot = f.engine.parts.boot;
    const realActivate = boot.activate.bind(boot);
    boot.activate = async () => Promise.reject(Object.assign(new Error('env write: EIO (injected)'), { code: 'EIO' }));
    try {
      await assert.rejects(f.engine.install(new FileSource(f.sim.bundles[0])));
    } finally {
      boot.activate = realActivate;
    }
    const status = await f.engine.status();
    const b = status.slots.find((v) => v.name === 'B')!;
    assert.deepEqual([b.state, b.primary], ['bad', false]);
    const s = await readState(f.sim);
    const image = await fs.readFile(`${f.sim.dir}/images/rootfs-1.1.0.img`);
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image), 'the verified record describes the bytes in the slot');
    assert.equal(s.slots.B.verified, true);
    assert.equal(s.pending?.flagsWritten, false, 'boot-check reports an interrupted activation, not a rollback');
  });
});
