// The `grub` boot-flag backend: RAUC's ORDER / <slot>_OK / <slot>_TRY scheme in a GRUB environment block file.
import { deviceInfo } from '../../native/block-io';
import { AbuError, withContext } from '../core/errors';
import type { BootFlagBackendConfig } from './boot-flag-backend';
import { intOption, stringOption } from './backend-options';
import { VarEnvStateStore } from './env-state-store';
import type { EnvVars } from './env-vars';
import { GrubEnvFile, type GrubEnvSnapshot } from './grub-env-file';
import { GrubScheme } from './grub-scheme';
import { lazy, openFileEnvStore, type EnvStoreOpener } from './lazy-env-store';
import { SchemeBackend } from './scheme-backend';

/** Options: `envFile` (the grubenv file GRUB's load_env/save_env use), `envSize` (default 1024). */
export class GrubEnvBackend extends SchemeBackend<EnvVars, GrubEnvSnapshot> {
  constructor(config: BootFlagBackendConfig, openStore: EnvStoreOpener = openFileEnvStore) {
    // The scheme gives each activation exactly one try; a larger count cannot be expressed in _TRY=0/1.
    if (config.attempts !== undefined && config.attempts !== 1) {
      throw new AbuError('ABU_ERR_BOOT_BACKEND', `grub: the ORDER/_OK/_TRY scheme gives exactly one try; attempts=${config.attempts}`);
    }
    const envFile = stringOption(config, 'envFile');
    const size = intOption(config, 'envSize', 1024);
    const file = lazy(async () => {
      await checkSize(envFile, size);
      return new GrubEnvFile(await openStore([{ device: envFile, offset: 0, size }]));
    });
    super('grub', config.slots, new GrubScheme(config.slots), new VarEnvStateStore(envFile, file));
  }
}

// GRUB reads the whole file as the block; a file of another size was not written by grub-editenv or abu.
async function checkSize(envFile: string, size: number): Promise<void> {
  let actual: number;
  try {
    actual = (await deviceInfo(envFile)).size;
  } catch (e) {
    throw withContext(`grub: cannot open env file ${envFile}`, e, 'ABU_ERR_IO');
  }
  if (actual !== size) {
    throw new AbuError('ABU_ERR_BOOTENV_FORMAT', `grub: env file ${envFile} is ${actual} bytes, expected ${size}; recreate it with grub-editenv create`);
  }
}
