// System test g: power cuts while abu activates the other slot (the boot-flag write): the appliance always boots a good slot.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { QemuMachine } from '../../harness/qemu';
import { eachBootloader, withAppliance, type Appliance } from './appliance';
import { bundleFor } from './bundles';
import { guestAbu, installed } from './guest-abu';
import { bootAndWait } from './steps';

/**
 * When the power goes, relative to the moment the guest's env write reaches the disk (seen by polling the
 * env's bytes in the disk image on the host every 2 ms; QEMU writes through to the host's page cache):
 * at once (the write just landed, abu has not fsynced or recorded it), and a little later.
 */
const CUT_AFTER_ENV_WRITE_MS = [0, 0, 25, 100];
const GOOD = new Set(['A 1.0.0', 'B 1.1.0']);

/** Where the bootloader's variables live in the disk image: both U-Boot copies, or the GRUB env block. */
function envRegion(app: Appliance): { offset: number; length: number } {
  if (app.kind === 'uboot') {
    const { envOffsets, envSize } = app.images.manifest.uboot;
    return { offset: envOffsets[0], length: envOffsets[envOffsets.length - 1] + envSize - envOffsets[0] };
  }
  const start = app.images.manifest.grub.bootPartOffset;
  const fd = fs.openSync(app.disk, 'r');
  try {
    const part = Buffer.alloc(8 << 20);
    fs.readSync(fd, part, 0, part.length, start);
    const at = part.indexOf('# GRUB Environment Block');
    if (at < 0) throw new Error('no GRUB environment block on the boot partition');
    return { offset: start + at, length: 1024 };
  } finally {
    fs.closeSync(fd);
  }
}

async function cutAfterEnvWrite(app: Appliance, machine: QemuMachine, delayMs: number, timeoutMs: number): Promise<void> {
  const { offset, length } = envRegion(app);
  const fd = fs.openSync(app.disk, 'r');
  try {
    const read = (): Buffer => { const b = Buffer.alloc(length); fs.readSync(fd, b, 0, length, offset); return b; };
    const before = read();
    const deadline = Date.now() + timeoutMs;
    while (read().equals(before)) {
      if (Date.now() > deadline) throw new Error(`abu activate did not write the env within ${timeoutMs} ms`);
      await delay(2);
    }
  } finally {
    fs.closeSync(fd);
  }
  if (delayMs > 0) await delay(delayMs);
  await machine.powerCut();
}

eachBootloader('system g: power cut during the flag write', ({ kind, images }) => {
  it(`boots a good slot after cuts ${CUT_AFTER_ENV_WRITE_MS.join(', ')} ms after "abu activate other" wrote the env`, async () => {
    const bundle = bundleFor(images(), { rootfs: 'good-1.1.0', predecessor: '1.0.0' });
    await withAppliance(images(), kind, 'power-cut-flags', async (app) => {
      const abu = guestAbu(app, [bundle]);
      await bootAndWait(app, abu, 'factory', 'A', '1.0.0');
      // Both slots hold a good image; only the flags decide which one boots.
      installed(await abu.install(bundle, { activate: false }));
      for (const [i, delayMs] of CUT_AFTER_ENV_WRITE_MS.entries()) {
        const machine = app.running();
        abu.activate('other').catch(() => undefined); // the power goes before its answer
        await cutAfterEnvWrite(app, machine, delayMs, 60_000);
        await app.boot(`after-cut-${i}-${delayMs}ms`, abu.disks);
        const booted = await app.waitBooted();
        assert.ok(GOOD.has(`${booted.slot} ${booted.version}`), `cut ${delayMs} ms: booted ${booted.slot} ${booted.version}`);
        const status = await abu.ready();
        assert.equal(status.booted, booted.slot, 'abu reads the flags the bootloader used (no corrupt env)');
        assert.equal(status.slots.find((s) => s.name === booted.slot)?.state, 'good', 'boot-check confirmed the slot');
      }
      await app.stop();
      const env = app.env.read(); // the bootloader's own tool must read a valid env after all of it
      assert.ok(Object.keys(env).length > 0, 'the env is readable with the bootloader\'s own tool');
    });
  });
});
