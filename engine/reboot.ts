// Restarts the appliance: the configured command, or on the simulated appliance a boot through the simulated bootloader.
import { spawn } from 'node:child_process';
import { AbuError } from './core/errors';
import type { EngineParts } from './engine';
import { SimulatedBootloader } from './boot/simulated-bootloader';
import { bootConfirm } from './install/boot-confirm';
import { writeFileAtomic } from './state/atomic-file';

/** Boots allowed in one simulated restart before giving up (every failed boot costs a try, so this ends). */
const MAX_SIMULATED_BOOTS = 16;

export async function restart(parts: EngineParts): Promise<void> {
  const how = parts.config.reboot;
  if ('command' in how) {
    const child = spawn(how.command[0], how.command.slice(1), { detached: true, stdio: 'ignore' });
    child.unref();
    return;
  }
  await simulatedRestart(parts);
}

/** What the simulated appliance's firmware and init do: the bootloader picks a slot, then init runs boot-check. */
async function simulatedRestart(parts: EngineParts): Promise<void> {
  const how = parts.config.bootedSlot;
  if (!('cmdline' in how)) throw new AbuError('ABU_ERR_CONFIG', 'a simulated reboot needs bootedSlot.cmdline to record the booted slot');
  const bootloader = new SimulatedBootloader(parts.boot);
  for (let i = 0; i < MAX_SIMULATED_BOOTS; i++) {
    const { slot } = await bootloader.boot();
    if (!slot) throw new AbuError('ABU_ERR_ACTIVATE_REFUSED', 'simulated bootloader found no bootable slot');
    // Atomic, so a status read during the simulated reboot never sees an empty command line.
    await writeFileAtomic(how.cmdline, `console=ttyS0 abu.slot=${slot}\n`);
    const result = await bootConfirm({ ...parts, healthChecks: parts.config.healthChecks }, slot);
    if (result.outcome !== 'marked-bad') return;
  }
  throw new AbuError('ABU_ERR_INTERNAL', `simulated appliance did not settle after ${MAX_SIMULATED_BOOTS} boots`);
}
