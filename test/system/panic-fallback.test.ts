// System test c: an update whose kernel panics: the real bootloader spends its tries, falls back to A, and abu reports the rollback.
import assert from 'node:assert/strict';
import { BOOT_TIMEOUT_MS, eachBootloader, withAppliance } from './appliance';
import { bundleFor } from './bundles';
import { guestAbu } from './guest-abu';
import { bootAndWait, installAndReboot, triesPerActivation } from './steps';

eachBootloader('system c: panicking update', ({ kind, images }) => {
  it('spends every try of B, boots A 1.0.0 again and records the rollback', async () => {
    const bundle = bundleFor(images(), { rootfs: 'panic-1.1.0', predecessor: '1.0.0' });
    await withAppliance(images(), kind, 'panic-fallback', async (app) => {
      const abu = guestAbu(app, [bundle]);
      await bootAndWait(app, abu, 'factory', 'A', '1.0.0');
      await installAndReboot(app, abu, bundle);
      for (let i = 0; i < triesPerActivation(kind); i++) {
        assert.deepEqual(await app.waitBooted(), { slot: 'B', version: '1.1.0' }, `try ${i + 1} boots B`);
        // panic=1 reboots inside the same QEMU process, and the bootloader counts the next try.
        await app.running().waitForLine(/Kernel panic - not syncing/, BOOT_TIMEOUT_MS);
      }
      assert.deepEqual(await app.waitBooted(), { slot: 'A', version: '1.0.0' });
      const status = await abu.ready();
      assert.equal(status.booted, 'A');
      assert.equal(status.slots.find((s) => s.name === 'B')?.state, 'bad');
      const rollback = (await abu.history()).find((h) => h.kind === 'rollback');
      assert.ok(rollback !== undefined, 'history records the rollback');
      assert.equal(rollback.slot, 'B');
      assert.match(rollback.message, /B|1\.1\.0/, 'the rollback names what failed');
    });
  });
});
