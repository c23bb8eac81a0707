// A GRUB environment block on disk (grubenv): read it, and rewrite the same bytes in place with fsync.
import { grubEnvDecode, grubEnvEncode } from '../../native/bootenv';
import { AbuError, isAbuError } from '../core/errors';
import { codecCall } from './codec-call';
import type { EnvStore } from './env-store';
import { EnvVars } from './env-vars';

export interface GrubEnvSnapshot {
  vars: EnvVars;
  comments: string[];
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
    return { vars: EnvVars.fromPairs(block.entries), comments: block.comments, bytes };
  }

  /**
   * Rewrite with the comment lines kept. Only changed 512-byte sectors are written: abu's variables sit at
   * the start of the block, so an update normally rewrites one sector, which disks write atomically.
   */
  async write(from: GrubEnvSnapshot, vars: EnvVars): Promise<void> {
    const size = this.store.regions[0].size;
    const bytes = codecCall(`GRUB env ${this.description}`, () =>
      grubEnvEncode({ entries: vars.toPairs(), comments: from.comments }, size),
    );
    await this.store.write(0, bytes, from.bytes);
  }
}
