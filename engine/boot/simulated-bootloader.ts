// A simulated power-on: runs a backend's scheme exactly as the boot script does, on the backend's own store.
import { AbuError } from '../core/errors';
import type { SlotName } from '../core/slot';
import type { BootFlagBackend } from './boot-flag-backend';
import { SchemeBackend } from './scheme-backend';

export interface SimulatedBoot {
  /** Slot the bootloader starts; null when it finds none (the real script prints and stops). */
  slot: SlotName | null;
  /** Whether the bootloader wrote its store during this boot. */
  saved: boolean;
  /** The bootloader's variables after this boot, flat (see BootScheme.describe). */
  env: Record<string, string>;
}

/**
 * Lets the demo and the tests walk whole updates without QEMU. The selection rules are the scheme's `boot`,
 * which test/contract/boot-scenarios.ts pins row by row against the real U-Boot and GRUB scripts.
 */
export class SimulatedBootloader {
  private readonly backend: SchemeBackend<unknown, unknown>;

  constructor(backend: BootFlagBackend) {
    if (!(backend instanceof SchemeBackend)) {
      throw new AbuError('ABU_ERR_BOOT_BACKEND', `no simulated bootloader for backend "${backend.kind}"`);
    }
    this.backend = backend as SchemeBackend<unknown, unknown>;
  }

  /** One boot. A corrupt store throws ABU_ERR_BOOTENV_CORRUPT (the real bootloader would use defaults). */
  async boot(): Promise<SimulatedBoot> {
    const { scheme, stateStore } = this.backend;
    const { state, snapshot } = await stateStore.load();
    const choice = scheme.boot(state);
    if (choice.saved) await stateStore.save(choice.state, snapshot);
    return { slot: choice.slot, saved: choice.saved, env: scheme.describe(choice.state) };
  }
}
