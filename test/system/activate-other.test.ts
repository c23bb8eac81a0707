// System test h: "abu activate other" boots the alternate image under the real bootloader; after an irreversible release it refuses.
import assert from 'node:assert/strict';
import { eachBootloader, withAppliance } from './appliance';
import { bundleFor } from './bundles';
import { guestAbu } from './guest-abu';
import { bootAndWait, installAndReboot } from './steps';

eachBootloader('system h: activate other', ({ kind, images }) => {
  it('switches back to 1.0.0 in A, and refuses once an irreversible 1.1.0 is confirmed', async () => {
    const normal = bundleFor(images(), { rootfs: 'good-1.1.0', predecessor: '1.0.0' });
    const irreversible = bundleFor(images(), { rootfs: 'good-1.1.0', predecessor: '1.0.0', irreversible: true });
    await withAppliance(images(), kind, 'activate-other', async (app) => {
      const abu = guestAbu(app, [normal, irreversible]);
      await bootAndWait(app, abu, 'factory', 'A', '1.0.0');
      await installAndReboot(app, abu, normal);
      assert.deepEqual(await app.waitBooted(), { slot: 'B', version: '1.1.0' });
      await abu.ready();

      const switched = await abu.activate('other');
      assert.equal(switched.status, 200, `activate other: ${JSON.stringify(switched.body)}`);
      await abu.reboot();
      assert.deepEqual(await app.waitBooted(), { slot: 'A', version: '1.0.0' }, 'the alternate image boots');
      const back = await abu.ready();
      assert.equal(back.booted, 'A');
      assert.equal(back.slots.find((s) => s.name === 'A')?.state, 'good');

      const unconfirmed = await abu.install(irreversible);
      assert.notEqual(unconfirmed.status, 200, 'an irreversible release is not activated without the operator\'s yes');
      assert.match(JSON.stringify(unconfirmed.body), /ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED/);
      await installAndReboot(app, abu, irreversible, { acceptIrreversible: true });
      assert.deepEqual(await app.waitBooted(), { slot: 'B', version: '1.1.0' });
      const status = await abu.ready();
      assert.equal(status.floor, '1.1.0', 'the confirmed irreversible release sets the floor');
      const refused = await abu.activate('other');
      assert.notEqual(refused.status, 200, 'switching back below the floor is refused');
      assert.match(JSON.stringify(refused.body), /ABU_ERR_\w+/, 'with a stable error code');
      await app.stop();
      await app.boot('after-refusal', abu.disks);
      assert.deepEqual(await app.waitBooted(), { slot: 'B', version: '1.1.0' }, 'and the flags still boot B');
    });
  });
});
