// System test a: the factory disk boots slot A with 1.0.0 under the real U-Boot and GRUB, and abu in the guest agrees.
import assert from 'node:assert/strict';
import { eachBootloader, withAppliance } from './appliance';
import { guestAbu } from './guest-abu';

eachBootloader('system a: factory image', ({ kind, images }) => {
  it('boots slot A and reports 1.0.0', async () => {
    await withAppliance(images(), kind, 'factory-boot', async (app) => {
      const abu = guestAbu(app);
      await app.boot('factory', abu.disks);
      assert.deepEqual(await app.waitBooted(), { slot: 'A', version: '1.0.0' });
      const status = await abu.ready();
      assert.equal(status.booted, 'A');
      const a = status.slots.find((s) => s.name === 'A');
      assert.deepEqual([a?.version, a?.state, a?.primary], ['1.0.0', 'good', true]);
      assert.equal(status.slots.find((s) => s.name === 'B')?.state, 'bad', 'the empty B is not bootable');
    });
  });
});
