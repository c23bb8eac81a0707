// Host-side boot-flag changes for fixtures, through abu's own pure schemes so tests and bootloaders share one contract.
import { EnvVars } from '../../engine/boot/env-vars';
import { GrubScheme } from '../../engine/boot/grub-scheme';
import { UbootScheme } from '../../engine/boot/uboot-scheme';
import { replaceBootEnv } from '../../images/disk-env';
import type { BootloaderKind } from '../../images/image-set';
import type { Appliance } from './appliance';

const SLOTS = ['A', 'B'];

/** The scheme bootloader-config's script for `kind` runs (3 tries for U-Boot, one for GRUB). */
export function schemeFor(kind: BootloaderKind): UbootScheme | GrubScheme {
  return kind === 'uboot' ? new UbootScheme(SLOTS, 3) : new GrubScheme(SLOTS);
}

/** What `abu activate` would write: `slot` first, with fresh tries, marked as on trial. */
export function activateOnHost(app: Appliance, slot: string): void {
  const scheme = schemeFor(app.kind);
  replaceBootEnv(app.env, scheme.activate(EnvVars.fromRecord(app.env.read()), slot).toRecord());
}

/** U-Boot deletes a variable set to "" (setenv with no value), so an empty value and a missing one are the same. */
export function normalizeEnv(vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== '').sort(([a], [b]) => a.localeCompare(b)));
}
