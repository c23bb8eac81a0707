// The `android` boot-flag backend: bootloader_control (32 bytes at misc offset 2048) as libboot_control updates it.
import {
  ANDROID_BOOT_CTRL_MAGIC,
  ANDROID_BOOT_CTRL_OFFSET,
  ANDROID_BOOT_CTRL_SIZE,
  androidBootControlDecode,
  androidBootControlEncode,
  type AndroidBootControl,
} from '../../native/bootenv';
import { AbuError } from '../core/errors';
import { AndroidScheme, ANDROID_DEFAULT_TRIES } from './android-scheme';
import type { BootFlagBackendConfig } from './boot-flag-backend';
import { intOption, stringOption } from './backend-options';
import { codecCall } from './codec-call';
import type { EnvStore } from './env-store';
import { lazy, openFileEnvStore, type EnvStoreOpener } from './lazy-env-store';
import { SchemeBackend, type BootStateStore } from './scheme-backend';

/** Options: `miscDevice` (the misc partition or a file), `offset` (default 2048). `attempts` = tries (default 6). */
export class AndroidBootControlBackend extends SchemeBackend<AndroidBootControl, Buffer> {
  constructor(config: BootFlagBackendConfig, openStore: EnvStoreOpener = openFileEnvStore) {
    const device = stringOption(config, 'miscDevice');
    const offset = intOption(config, 'offset', ANDROID_BOOT_CTRL_OFFSET);
    const store = lazy(() => openStore([{ device, offset, size: ANDROID_BOOT_CTRL_SIZE }]));
    const scheme = new AndroidScheme(config.slots, config.attempts ?? ANDROID_DEFAULT_TRIES);
    super('android', config.slots, scheme, new BootControlStore(device, config.slots.length, store));
  }
}

class BootControlStore implements BootStateStore<AndroidBootControl, Buffer> {
  constructor(
    readonly description: string,
    private readonly slotCount: number,
    private readonly store: () => Promise<EnvStore>,
  ) {}

  /**
   * Like U-Boot's ab_select_slot, refuse unknown magic and versions above 1. A CRC mismatch is reported as
   * corrupt: the HAL and U-Boot would re-initialise defaults, which could boot an unverified slot.
   */
  async load(): Promise<{ state: AndroidBootControl; snapshot: Buffer }> {
    const bytes = await (await this.store()).read(0);
    const bc = codecCall(`android misc ${this.description}`, () => androidBootControlDecode(bytes));
    const where = `android misc ${this.description}: bootloader_control`;
    if (bc.magic !== ANDROID_BOOT_CTRL_MAGIC) throw new AbuError('ABU_ERR_BOOTENV_FORMAT', `${where} has magic 0x${bc.magic.toString(16)}, not "BCAB"`);
    if (bc.version > 1) throw new AbuError('ABU_ERR_BOOTENV_FORMAT', `${where} version ${bc.version} is newer than 1`);
    if (!bc.crcValid) throw new AbuError('ABU_ERR_BOOTENV_CORRUPT', `${where} fails its CRC32; abu will not re-initialise it`);
    const nbSlot = Math.min(bc.nbSlot, 4);
    if (nbSlot < this.slotCount) throw new AbuError('ABU_ERR_BOOTENV_FORMAT', `${where} describes ${nbSlot} slots, config has ${this.slotCount}`);
    return { state: { ...bc, nbSlot }, snapshot: bytes };
  }

  /** One 32-byte in-place write with fsync (a single sector, as the HAL's O_SYNC pwrite); reserved bits kept. */
  async save(state: AndroidBootControl, from: Buffer): Promise<void> {
    const bytes = codecCall(`android misc ${this.description}`, () => androidBootControlEncode(state, from));
    await (await this.store()).write(0, bytes);
  }
}
