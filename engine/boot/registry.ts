// The one place a boot-flag backend is chosen by name.
import { AbuError } from '../core/errors';
import { AndroidBootControlBackend } from './android-boot-control-backend';
import type { BootFlagBackend, BootFlagBackendConfig } from './boot-flag-backend';
import { GrubEnvBackend } from './grub-env-backend';
import type { EnvStoreOpener } from './lazy-env-store';
import { UbootEnvBackend } from './uboot-env-backend';

export type BootFlagBackendFactory = (config: BootFlagBackendConfig, openStore?: EnvStoreOpener) => BootFlagBackend;

export const BOOT_FLAG_BACKENDS: Readonly<Record<string, BootFlagBackendFactory>> = {
  uboot: (config, openStore) => new UbootEnvBackend(config, openStore),
  grub: (config, openStore) => new GrubEnvBackend(config, openStore),
  android: (config, openStore) => new AndroidBootControlBackend(config, openStore),
};

/** Build the configured backend; an unknown kind is ABU_ERR_BOOT_BACKEND naming the known ones. */
export function createBootFlagBackend(config: BootFlagBackendConfig, openStore?: EnvStoreOpener): BootFlagBackend {
  const factory = Object.prototype.hasOwnProperty.call(BOOT_FLAG_BACKENDS, config.kind) ? BOOT_FLAG_BACKENDS[config.kind] : undefined;
  if (!factory) {
    throw new AbuError('ABU_ERR_BOOT_BACKEND', `unknown bootloader kind "${config.kind}" (known: ${Object.keys(BOOT_FLAG_BACKENDS).join(', ')})`);
  }
  if (config.slots.length < 2) throw new AbuError('ABU_ERR_BOOT_BACKEND', `bootloader "${config.kind}" needs at least two slots`);
  return factory(config, openStore);
}
