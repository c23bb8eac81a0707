// A U-Boot environment on disk: picks the copy U-Boot would use, and writes the way U-Boot stays bootable.
import { ubootEnvDecode, ubootEnvEncode, ubootEnvSelect } from '../../native/bootenv';
import { AbuError } from '../core/errors';
import { codecCall } from './codec-call';
import type { EnvStore } from './env-store';
import { EnvVars } from './env-vars';

/** What was read: the variables, which copy they came from and that copy's bytes and flags. */
export interface UbootEnvSnapshot {
  vars: EnvVars;
  /** Copy in use (always 0 for a single-copy env). */
  current: number;
  /** Flags byte of the current copy; null for a single-copy env. */
  flags: number | null;
  bytes: Buffer;
}

export class UbootEnv {
  constructor(
    private readonly store: EnvStore,
    private readonly bigEndian = false,
  ) {
    if (store.regions.length < 1 || store.regions.length > 2) {
      throw new AbuError('ABU_ERR_BOOT_BACKEND', 'a U-Boot env has one copy or a redundant pair');
    }
  }

  get redundant(): boolean {
    return this.store.regions.length === 2;
  }

  get description(): string {
    return this.store.regions.map((r) => `${r.device}@${r.offset}+${r.size}`).join(', ');
  }

  /** Read as U-Boot does. No valid copy -> ABU_ERR_BOOTENV_CORRUPT; abu never substitutes defaults. */
  async read(): Promise<UbootEnvSnapshot> {
    const copies = await Promise.all(this.store.regions.map((_, i) => this.store.read(i)));
    const current = this.redundant ? ubootEnvSelect(copies[0], copies[1], this.bigEndian).index : 0;
    const bytes = copies[current === -1 ? 0 : current];
    const decoded = codecCall(`U-Boot env ${this.description}`, () =>
      ubootEnvDecode(bytes, { redundant: this.redundant, bigEndian: this.bigEndian }),
    );
    if (current === -1 || !decoded.crcValid || decoded.entries === null) {
      throw new AbuError(
        'ABU_ERR_BOOTENV_CORRUPT',
        `U-Boot env ${this.description}: no copy has a valid CRC; U-Boot would boot its built-in default ` +
          'environment. Restore it from a backup or rewrite it deliberately (fw_setenv / mkenvimage); abu will not reset it',
      );
    }
    return { vars: EnvVars.fromUbootEntries(decoded.entries), current, flags: decoded.flags, bytes };
  }

  /**
   * One power-safe update. Redundant: write the copy NOT in use, with the next flags value (255 wraps to 0),
   * fsync, and never touch the copy in use, so a cut leaves U-Boot on the old copy. Single: rewrite in place
   * (only the changed sectors): a cut inside that write leaves a bad CRC, which is why redundant is advised.
   */
  async write(from: UbootEnvSnapshot, vars: EnvVars): Promise<void> {
    // Nothing changed (e.g. mark-good of a slot already good): no write, so an env fw_setenv filled to its last
    // byte, which abu reads but cannot rewrite with its terminator (uboot_env_codec.cc), still takes mark-good.
    const entries = vars.toUbootEntries();
    const before = from.vars.toUbootEntries();
    if (entries.length === before.length && entries.every((e, i) => e === before[i])) return;
    const size = this.store.regions[0].size;
    const target = this.redundant ? 1 - from.current : 0;
    const flags = this.redundant ? ((from.flags ?? 0) + 1) & 0xff : 0;
    const bytes = codecCall(`U-Boot env ${this.description}`, () =>
      ubootEnvEncode(entries, { size, redundant: this.redundant, bigEndian: this.bigEndian, flags }),
    );
    await this.store.write(target, bytes, this.redundant ? undefined : from.bytes);
  }
}
