// System test b: a 1.1.0 bundle pushed into the guest's abu is installed into B, activated, booted and confirmed.
import assert from 'node:assert/strict';
import { eachBootloader, withAppliance } from './appliance';
import { bundleFor } from './bundles';
import { guestAbu, installed } from './guest-abu';
import { recordTiming } from './timings';

eachBootloader('system b: update cycle', ({ kind, images }) => {
  it('installs 1.1.0 into B, boots it and confirms it', async () => {
    const bundle = bundleFor(images(), { rootfs: 'good-1.1.0', predecessor: '1.0.0' });
    await withAppliance(images(), kind, 'update-cycle', async (app) => {
      const abu = guestAbu(app, [bundle]);
      await app.boot('factory', abu.disks);
      assert.deepEqual(await app.waitBooted(), { slot: 'A', version: '1.0.0' });
      await abu.ready();

      const started = Date.now();
      const result = installed(await abu.install(bundle));
      assert.deepEqual([result.slot, result.version, result.activated], ['B', '1.1.0', true]);
      await abu.reboot();
      assert.deepEqual(await app.waitBooted(), { slot: 'B', version: '1.1.0' });
      await app.running().waitForLine(/^BOOT-CHECK rc=0/, 60_000);
      const status = await abu.ready();
      recordTiming(`update cycle via ${abu.via} (push, install, reboot, confirm) [${kind}]`, Date.now() - started);

      assert.equal(status.booted, 'B');
      const b = status.slots.find((s) => s.name === 'B');
      assert.deepEqual([b?.version, b?.state, b?.primary], ['1.1.0', 'good', true]);
      const events = (await abu.history()).map((h) => `${h.kind} ${h.slot}`);
      assert.ok(events.includes('install B'), `history has the install: ${events.join(', ')}`);
      assert.ok(events.includes('mark-good B'), `history has the confirmation: ${events.join(', ')}`);
    });
  });
});
