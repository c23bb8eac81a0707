// A GRUB environment block on disk (grubenv): read it, and rewrite the same bytes in place with fsync.
import { grubEnvDecode, grubEnvEncode, type GrubEnvItem } from '../../native/bootenv';
import { AbuError, isAbuError } from '../core/errors';
import { codecCall } from './codec-call';
import type { EnvStore } from './env-store';
import { EnvVars } from './env-vars';

export interface GrubEnvSnapshot {
  /** Every line GRUB reads, comments included (name null), each with its stored bytes. */
  vars: EnvVars;
  /** Where GRUB stops reading to the end of the block (grub_env_codec.cc says what a write does with it). */
  tail: string;
  bytes: Buffer;
}

/**
 * GRUB's save_env writes the file's sectors in place and can never resize it, so abu does the same:
 * no truncate (grub-editenv's fopen "wb" leaves an empty file for a moment), same size, fsync.
 */
export class GrubEnvFile {
  constructor(private readonly store: EnvStore) {
    if (store.regions.length !== 1) throw new AbuError('ABU_ERR_BOOT_BACKEND', 'a GRUB env is one block');
  }

  get description(): string {
    return this.store.regions[0].device;
  }

  async read(): Promise<GrubEnvSnapshot> {
    const bytes = await this.store.read(0);
    let block;
    try {
      block = codecCall(`GRUB env ${this.description}`, () => grubEnvDecode(bytes));
    } catch (e) {
      // The block has no checksum: being malformed is how a damaged block shows, so it is reported as corrupt.
      if (!isAbuError(e, 'ABU_ERR_BOOTENV_FORMAT')) throw e;
      throw new AbuError('ABU_ERR_BOOTENV_CORRUPT', `${e.message}; GRUB would see no variables. Restore it or recreate it deliberately (grub-editenv create)`, { cause: e });
    }
    const items = block.items.map(([name, value, raw]) => ({ name, value, raw: raw ?? undefined }));
    return { vars: EnvVars.fromItems(items), tail: block.tail, bytes };
  }

  /**
   * Rewrite: lines abu did not change (comments, foreign and odd variables) keep their bytes and place, new
   * ones go after the last line GRUB reads. Only changed 512-byte sectors are written: an update normally
   * rewrites one sector, which disks write atomically.
   */
  async write(from: GrubEnvSnapshot, vars: EnvVars): Promise<void> {
    const size = this.store.regions[0].size;
    const items = vars.toItems().map((i): GrubEnvItem => [i.name, i.value, i.raw ?? null]);
    const bytes = codecCall(`GRUB env ${this.description}`, () => grubEnvEncode({ items, tail: from.tail }, size));
    await this.store.write(0, bytes, from.bytes);
  }
}
