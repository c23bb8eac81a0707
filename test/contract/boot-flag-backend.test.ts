// Runs the BootFlagBackend contract on every registered backend over real env images.
import type { EnvWrite } from '../../engine/boot/env-store';
import { BOOT_FLAG_BACKENDS } from '../../engine/boot/registry';
import { ANDROID_DEFAULT_TRIES } from '../../engine/boot/android-scheme';
import { bootFlagBackendContract, type BackendUnderTest } from './boot-flag-backend.contract';
import { HEALTHY, makeFixture, recordedBackend, UBOOT_ENV_OFFSET, UBOOT_ENV_SIZE, type BootKind } from './boot-fixtures';

const ATTEMPTS: Record<BootKind, number> = { uboot: 3, grub: 1, android: ANDROID_DEFAULT_TRIES };

async function make(kind: BootKind): Promise<BackendUnderTest> {
  const config = await makeFixture(kind, HEALTHY[kind]);
  const writes: EnvWrite[][] = [];
  const file = String(Object.values(config.options)[0]);
  const ranges: Record<BootKind, Array<[number, number]>> = {
    uboot: [[UBOOT_ENV_OFFSET, UBOOT_ENV_SIZE], [UBOOT_ENV_OFFSET + UBOOT_ENV_SIZE, UBOOT_ENV_SIZE]],
    grub: [[0, 1024]],
    android: [[2048, 32]],
  };
  const storeFile = kind === 'uboot' ? `${file.replace(/fw_env\.config$/, 'disk.img')}` : file;
  return { backend: recordedBackend(config, writes), writes, file: storeFile, storeRanges: ranges[kind], attempts: ATTEMPTS[kind], config };
}

for (const kind of Object.keys(BOOT_FLAG_BACKENDS) as BootKind[]) {
  bootFlagBackendContract(kind, () => make(kind));
}
