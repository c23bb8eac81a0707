// The boot-flag seam: what the installer asks of a bootloader, in slot terms. Variables stay private to backends.
import type { SlotBootStatus, SlotName } from '../core/slot';

/**
 * One bootloader's A/B contract (U-Boot env, GRUB env, Android bootloader_control, ...).
 *
 * Contract for every implementation (checked by test/contract/boot-flag-backend.contract.ts):
 * - Every mutating call is one power-safe write: after a cut at any point the bootloader sees
 *   either the old state or the new one.
 * - Calls that would leave no bootable slot are refused with ABU_ERR_ACTIVATE_REFUSED.
 * - A corrupt store is reported as ABU_ERR_BOOTENV_CORRUPT and is never silently reset.
 */
export interface BootFlagBackend {
  /** Registry name ("uboot", "grub", "android"). */
  readonly kind: string;
  /** Slots in the order the config lists them. */
  readonly slots: readonly SlotName[];

  /** State of every slot, including which one the bootloader tries first. */
  status(): Promise<SlotBootStatus[]>;
  /** Make the slot unbootable. Called before the first byte of an install is written. */
  markBad(slot: SlotName): Promise<void>;
  /**
   * Make the slot primary with a limited number of tries; the bootloader falls back to the
   * other good slot when they run out. Called only after the image was fully verified.
   */
  activate(slot: SlotName): Promise<void>;
  /** Confirm a booted slot: bootable with full tries, no longer counting down. */
  markGood(slot: SlotName): Promise<void>;
}

/** Settings every backend factory receives; each backend reads its own keys from `options`. */
export interface BootFlagBackendConfig {
  kind: string;
  slots: SlotName[];
  /** Tries a freshly activated slot gets before the bootloader falls back (default 3; GRUB: 1). */
  attempts?: number;
  options: Record<string, unknown>;
}
