// System test d: an update that hangs in userspace: the harness resets the machine as a watchdog would, until the bootloader falls back to A.
import assert from 'node:assert/strict';
import { BOOT_TIMEOUT_MS, eachBootloader, withAppliance } from './appliance';
import { bundleFor } from './bundles';
import { guestAbu } from './guest-abu';
import { bootAndWait, installAndReboot, triesPerActivation } from './steps';

/** How long after the hang marker the watchdog fires (a real one counts from boot; the marker makes this shorter and safe). */
const WATCHDOG_MS = 8_000;

eachBootloader('system d: hanging update', ({ kind, images }) => {
  it('is reset by the watchdog until the bootloader falls back to A 1.0.0, and abu records the rollback', async () => {
    const bundle = bundleFor(images(), { rootfs: 'hang-1.1.0', predecessor: '1.0.0' });
    await withAppliance(images(), kind, 'hang-watchdog', async (app) => {
      const abu = guestAbu(app, [bundle]);
      await bootAndWait(app, abu, 'factory', 'A', '1.0.0');
      await installAndReboot(app, abu, bundle);
      const machine = app.running();
      for (let i = 0; i < triesPerActivation(kind); i++) {
        assert.deepEqual(await app.waitBooted(), { slot: 'B', version: '1.1.0' }, `try ${i + 1} boots B`);
        await machine.waitForLine(/^HANGIMAGE/, BOOT_TIMEOUT_MS);
        // The appliance never gets healthy (no READY line): the watchdog fires.
        await assert.rejects(machine.waitForLine(/^READY /, WATCHDOG_MS));
        await machine.reset();
      }
      assert.deepEqual(await app.waitBooted(), { slot: 'A', version: '1.0.0' });
      await abu.ready();
      const kinds = (await abu.history()).map((h) => `${h.kind} ${h.slot}`);
      assert.ok(kinds.includes('rollback B'), `history records the rollback: ${kinds.join(', ')}`);
    });
  });
});
