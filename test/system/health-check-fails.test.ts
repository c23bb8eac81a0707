// System test e: an update that boots but fails its health check: boot-check marks it bad and restarts into A.
import assert from 'node:assert/strict';
import { eachBootloader, withAppliance } from './appliance';
import { bundleFor } from './bundles';
import { guestAbu } from './guest-abu';
import { bootAndWait, installAndReboot } from './steps';

eachBootloader('system e: unhealthy update', ({ kind, images }) => {
  it('is marked bad by boot-check, and the appliance comes back on A 1.0.0', async () => {
    const bundle = bundleFor(images(), { rootfs: 'unhealthy-1.1.0', predecessor: '1.0.0' });
    await withAppliance(images(), kind, 'health-check-fails', async (app) => {
      const abu = guestAbu(app, [bundle]);
      await bootAndWait(app, abu, 'factory', 'A', '1.0.0');
      await installAndReboot(app, abu, bundle);
      assert.deepEqual(await app.waitBooted(), { slot: 'B', version: '1.1.0' });
      // boot-check runs the health check, marks B bad and reboots at once: no second try, whatever the bootloader's count.
      assert.deepEqual(await app.waitBooted(), { slot: 'A', version: '1.0.0' });
      const status = await abu.ready();
      assert.equal(status.booted, 'A');
      assert.equal(status.slots.find((s) => s.name === 'B')?.state, 'bad');
      const history = await abu.history();
      const markBad = history.find((h) => h.kind === 'mark-bad' && h.slot === 'B');
      assert.ok(markBad !== undefined, `history records that boot-check marked B bad: ${JSON.stringify(history)}`);
      assert.match(markBad.message, /health|application/i, 'and why');
    });
  });
});
