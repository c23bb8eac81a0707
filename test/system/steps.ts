// Steps several system tests share: boot the factory image, install a bundle through the guest's abu and restart into it.
import assert from 'node:assert/strict';
import type { InstallResult } from '../../engine/facade';
import type { Appliance } from './appliance';
import { installed, type GuestAbu, type GuestInstallOptions } from './guest-abu';

/** Boots the disk and waits until abu answers; asserts the slot and version the bootloader picked. */
export async function bootAndWait(app: Appliance, abu: GuestAbu, label: string, slot: string, version: string): Promise<void> {
  await app.boot(label, abu.disks);
  assert.deepEqual(await app.waitBooted(), { slot, version }, `${label}: the bootloader picks ${slot}`);
  await abu.ready();
}

/** Installs into the alternate slot (activating it) and restarts, as an operator's update does. */
export async function installAndReboot(app: Appliance, abu: GuestAbu, bundle: string, options: GuestInstallOptions = {}): Promise<InstallResult> {
  const result = installed(await abu.install(bundle, options));
  assert.equal(result.activated, true, 'the install activates the new slot');
  await abu.reboot();
  return result;
}

/** Tries the bootloader gives an activated slot (bootloader-config's contracts: U-Boot 3, GRUB 1). */
export function triesPerActivation(kind: string): number {
  return kind === 'uboot' ? 3 : 1;
}

/** The history entries as "kind slot" strings, for readable assertions. */
export async function historyKinds(abu: GuestAbu): Promise<string[]> {
  return (await abu.history()).map((h) => `${h.kind} ${h.slot}`);
}
