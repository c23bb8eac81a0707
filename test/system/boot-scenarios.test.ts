// System test i: every U-Boot and GRUB row of the boot scenario table, booted on the real bootloader, agrees with the simulated reboot.
import assert from 'node:assert/strict';
import { EnvVars } from '../../engine/boot/env-vars';
import { replaceBootEnv } from '../../images/disk-env';
import { BOOT_SCENARIOS, type BootScenario } from '../contract/boot-scenarios';
import { Appliance, BOOT_TIMEOUT_MS, eachBootloader } from './appliance';
import { normalizeEnv, schemeFor } from './boot-flags';

/** One power-on: which slot the bootloader starts (null: it says it found none) and the env it leaves. */
async function bootOnce(app: Appliance, row: BootScenario): Promise<{ booted: string | null; after: Record<string, string> }> {
  replaceBootEnv(app.env, row.before);
  const machine = await app.boot(row.name.replace(/[^a-z0-9]+/gi, '-'));
  const m = await machine.waitForLine(/^BOOTED slot=(\S+)|ABU: no bootable slot/, BOOT_TIMEOUT_MS);
  await app.stop();
  return { booted: m[1] ?? null, after: app.env.read() };
}

eachBootloader('system i: boot scenario table on the real bootloader', ({ kind, images }) => {
  const rows = BOOT_SCENARIOS.filter((r) => r.kind === kind);
  let app: Appliance | null = null; // one disk for all rows: each row writes its whole env first
  after(async () => { await app?.dispose(true); });

  for (const row of rows) {
    it(row.name, async () => {
      if (app === null) {
        app = new Appliance(images(), kind, 'boot-scenarios');
        app.writeSlot('B', 'good-1.1.0'); // rows that boot B need a kernel there
      }
      // The simulated reboot must agree with the table too; otherwise the row itself is wrong.
      const simulated = schemeFor(kind).boot(EnvVars.fromRecord(row.before));
      assert.equal(simulated.slot, row.booted, 'the simulated reboot starts the slot of the table');
      assert.deepEqual(normalizeEnv(simulated.state.toRecord()), normalizeEnv(row.after), 'and leaves its env');
      const real = await bootOnce(app, row);
      assert.equal(real.booted, row.booted, 'slot the real bootloader starts');
      assert.deepEqual(normalizeEnv(real.after), normalizeEnv(row.after), 'env the real bootloader leaves');
    });
  }
});
