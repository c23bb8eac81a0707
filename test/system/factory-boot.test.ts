// System test a: the factory disk boots slot A with 1.0.0 under the real U-Boot and GRUB, and abu agrees.
import assert from 'node:assert/strict';
import { eachBootloader, withAppliance } from './appliance';

eachBootloader('system a: factory image', ({ kind, images }) => {
  it('boots slot A and reports 1.0.0', async () => {
    await withAppliance(images(), kind, 'factory-boot', async (app) => {
      await app.boot('factory');
      assert.deepEqual(await app.waitBooted(), { slot: 'A', version: '1.0.0' });
      await app.waitReady();
    });
  });
});
