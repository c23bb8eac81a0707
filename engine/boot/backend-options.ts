// Reading a backend's options from BootFlagBackendConfig with errors that name the bad key.
import { AbuError } from '../core/errors';
import type { BootFlagBackendConfig } from './boot-flag-backend';

export function stringOption(config: BootFlagBackendConfig, key: string): string {
  const v = config.options[key];
  if (typeof v !== 'string' || v === '') {
    throw new AbuError('ABU_ERR_BOOT_BACKEND', `bootloader "${config.kind}": option "${key}" must be a path string`);
  }
  return v;
}

export function intOption(config: BootFlagBackendConfig, key: string, fallback: number): number {
  const v = config.options[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new AbuError('ABU_ERR_BOOT_BACKEND', `bootloader "${config.kind}": option "${key}" must be an integer`);
  }
  return v;
}

export function boolOption(config: BootFlagBackendConfig, key: string): boolean {
  const v = config.options[key] ?? false;
  if (typeof v !== 'boolean') throw new AbuError('ABU_ERR_BOOT_BACKEND', `bootloader "${config.kind}": option "${key}" must be true or false`);
  return v;
}
