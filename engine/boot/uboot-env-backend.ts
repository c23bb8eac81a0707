// The `uboot` boot-flag backend: RAUC's BOOT_ORDER / BOOT_<slot>_LEFT scheme in a U-Boot env named by fw_env.config.
import type { BootFlagBackendConfig } from './boot-flag-backend';
import { boolOption, stringOption } from './backend-options';
import { VarEnvStateStore } from './env-state-store';
import type { EnvVars } from './env-vars';
import { loadFwEnvConfig } from './fw-env-config';
import { lazy, openFileEnvStore, type EnvStoreOpener } from './lazy-env-store';
import { SchemeBackend } from './scheme-backend';
import { UbootEnv, type UbootEnvSnapshot } from './uboot-env';
import { UbootScheme } from './uboot-scheme';

/** Options: `fwEnvConfig` (path to a libubootenv fw_env.config), `bigEndian` (CRC byte order, default false). */
export class UbootEnvBackend extends SchemeBackend<EnvVars, UbootEnvSnapshot> {
  constructor(config: BootFlagBackendConfig, openStore: EnvStoreOpener = openFileEnvStore) {
    const fwEnvConfig = stringOption(config, 'fwEnvConfig');
    const bigEndian = boolOption(config, 'bigEndian');
    const env = lazy(async () => new UbootEnv(await openStore((await loadFwEnvConfig(fwEnvConfig)).copies), bigEndian));
    super('uboot', config.slots, new UbootScheme(config.slots, config.attempts ?? 3), new VarEnvStateStore(fwEnvConfig, env));
  }
}
