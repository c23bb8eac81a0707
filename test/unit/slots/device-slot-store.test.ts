// A slot device the config names but that cannot be opened is a config error naming the device and what to check.
import assert from 'node:assert/strict';
import { isAbuError } from '../../../engine/core/errors';
import { DeviceSlotStore } from '../../../engine/slots/device-slot-store';

describe('device slot store: a missing slot device', () => {
  for (const partition of [2, undefined]) {
    it(`is ABU_ERR_CONFIG naming the device (${partition === undefined ? 'whole device' : 'GPT partition'})`, async () => {
      const store = new DeviceSlotStore([{ name: 'B', targets: { rootfs: { device: '/nonexistent/abu-disk.img', partition } } }]);
      await assert.rejects(store.resolve('B', 'rootfs'), (e: unknown) =>
        isAbuError(e, 'ABU_ERR_CONFIG') && /slot device \/nonexistent\/abu-disk\.img cannot be opened \(ENOENT\): check slots\[\]\.targets/.test(e.message));
    });
  }
});
