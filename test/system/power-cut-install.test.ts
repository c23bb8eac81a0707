// System test f: power cuts while B is being written, at several offsets: the next boot is A, intact, the checkpoint
// the install kept survives the cut, and the next install of that bundle resumes from it and succeeds.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { QemuMachine } from '../../harness/qemu';
import type { ImageSet } from '../../images/image-set';
import { eachBootloader, withAppliance, type Appliance } from './appliance';
import { bundleFor } from './bundles';
import { guestAbu } from './guest-abu';
import { bootAndWait, installAndReboot } from './steps';

/** Where in the slot write the power goes: early, middle, nearly done (fractions of the slot image). */
const CUT_AT = [0.05, 0.5, 0.9];

/** Cuts the power once the guest has written `bytes` more to the boot disk than `baseline` (QMP block stats). */
async function cutAfterWrites(machine: QemuMachine, baseline: number, bytes: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const written = (await machine.diskStats())[0].writtenBytes - baseline;
    if (written >= bytes) {
      await machine.powerCut();
      return written;
    }
    await delay(20);
  }
  throw new Error(`the install wrote less than ${bytes} bytes in ${timeoutMs} ms`);
}

function slotSha256(images: ImageSet, app: Appliance, slot: string): string {
  const { partStart } = images.manifest[app.kind];
  const fd = fs.openSync(app.disk, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.alloc(1 << 20);
    for (let done = 0; done < images.manifest.slotBytes; done += buffer.length) {
      fs.readSync(fd, buffer, 0, buffer.length, partStart[slot] + done);
      hash.update(buffer);
    }
    return hash.digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

eachBootloader('system f: power cut while writing B', ({ kind, images }) => {
  it(`boots A intact after cuts at ${CUT_AT.join(', ')} of the write, then installs cleanly`, async () => {
    // One bundle of the same image per cut: a full write each time, so every cut lands at its fraction of the slot (an
    // install of the bundle cut before resumes from its checkpoint and writes less).
    const bundles = CUT_AT.map((f) => bundleFor(images(), { rootfs: 'good-1.1.0', predecessor: '1.0.0', variant: `cut-${f}` }));
    await withAppliance(images(), kind, 'power-cut-install', async (app) => {
      const abu = guestAbu(app, bundles);
      const factoryA = slotSha256(images(), app, 'A');
      await bootAndWait(app, abu, 'factory', 'A', '1.0.0');
      for (const [k, fraction] of CUT_AT.entries()) {
        const machine = app.running();
        const baseline = (await machine.diskStats())[0].writtenBytes;
        // Not adaptive: an adaptive install would keep what the earlier cuts wrote and write less.
        abu.install(bundles[k], { adaptive: false }).catch(() => undefined); // its answer never comes: the power goes first
        await cutAfterWrites(machine, baseline, Math.floor(fraction * images().manifest.slotBytes), 180_000);
        assert.equal(slotSha256(images(), app, 'A'), factoryA, `cut at ${fraction}: slot A is bit for bit the factory image`);
        // This boot checks the cut and is the starting point of the next one.
        await bootAndWait(app, abu, `after-cut-${fraction}`, 'A', '1.0.0');
        const status = await abu.status();
        assert.equal(status.slots.find((s) => s.name === 'B')?.state, 'bad', `cut at ${fraction}: the half-written B is not bootable`);
        // The checkpoint is saved every 2 s: by half the slot the guest has saved several, synced before each save.
        if (fraction >= 0.5) assert.ok((status.resumable?.chunksDone ?? 0) > 0, `cut at ${fraction}: the checkpoint survived the cut (${JSON.stringify(status.resumable)})`);
      }
      // The last cut's bundle: resumes from its checkpoint (chunks re-read by CRC32), then the adaptive scan keeps the rest.
      const result = await installAndReboot(app, abu, bundles[bundles.length - 1]);
      assert.ok((result.transfer?.skipped ?? 0) >= 0.5 * images().manifest.slotBytes, `the resumed install kept what the cuts wrote (${JSON.stringify(result.transfer)})`);
      assert.deepEqual(await app.waitBooted(), { slot: 'B', version: '1.1.0' });
      await app.running().waitForLine(/^BOOT-CHECK rc=0/, 60_000);
      assert.equal((await abu.ready()).slots.find((s) => s.name === 'B')?.state, 'good');
    });
  });
});
