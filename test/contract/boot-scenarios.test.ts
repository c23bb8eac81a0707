// The simulated bootloader against every row of the bootloader scenario table.
import * as assert from 'node:assert/strict';
import { createBootFlagBackend } from '../../engine/boot/registry';
import type { SchemeBackend } from '../../engine/boot/scheme-backend';
import { SimulatedBootloader } from '../../engine/boot/simulated-bootloader';
import { makeFixture } from './boot-fixtures';
import { BOOT_SCENARIOS } from './boot-scenarios';

describe('bootloader scenarios on the simulated bootloader', () => {
  for (const row of BOOT_SCENARIOS) {
    it(`${row.kind}: ${row.name}`, async () => {
      const config = await makeFixture(row.kind, row.before);
      const backend = createBootFlagBackend(config);
      const boot = await new SimulatedBootloader(backend).boot();
      assert.equal(boot.slot, row.booted);
      assert.deepEqual(boot.env, row.after);
      // What the bootloader saved is on disk: a fresh backend reads exactly the row's env after.
      const fresh = createBootFlagBackend(config) as SchemeBackend<unknown, unknown>;
      assert.deepEqual(fresh.scheme.describe((await fresh.stateStore.load()).state), row.after);
      if (!boot.saved) assert.deepEqual(row.after, row.before, 'a boot that saved nothing changed nothing');
    });
  }
});
