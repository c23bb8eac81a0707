// SlotHandle over the native BlockFile: shifts slot-relative offsets and refuses writes past the slot's end.
import { BlockFile, type ReadVerifyResult } from '../../native/block-io';
import { AbuError } from '../core/errors';
import type { SlotHandle, SlotTarget } from './slot-store';

export class BlockFileSlotHandle implements SlotHandle {
  private constructor(readonly target: SlotTarget, private readonly file: BlockFile) {}

  /**
   * A write claims a block device that is the slot itself (offset 0) with O_EXCL: the kernel refuses it
   * while the slot is mounted or claimed by another process (another abu, mkfs, a mount), so
   * two writers never interleave on it. A partition addressed inside its whole disk is not claimed: the
   * disk also holds the mounted booted slot, and claiming it would always fail. Ignored for regular files.
   */
  static async open(target: SlotTarget, write: boolean): Promise<BlockFileSlotHandle> {
    try {
      const file = await BlockFile.open(target.device, { write, direct: true, exclusive: write && target.offset === 0 });
      return new BlockFileSlotHandle(target, file);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'EBUSY') throw e;
      throw new AbuError('ABU_ERR_BUSY', `busy: ${target.device} (slot ${target.slot}) is mounted or claimed by another process; unmount it or stop that process, then try again`, {
        cause: e,
        details: { device: target.device, slot: target.slot },
      });
    }
  }

  get direct(): boolean {
    return this.file.direct;
  }

  get directFallbackReason(): string | undefined {
    return this.file.directFallbackReason;
  }

  async verifyAndWrite(buf: Buffer, offset: number, crc32: number, sha256: Buffer): Promise<void> {
    this.checkBounds(offset, buf.length);
    await this.file.verifyAndWrite(buf, this.target.offset + offset, crc32, sha256);
  }

  async write(buf: Buffer, offset: number): Promise<void> {
    this.checkBounds(offset, buf.length);
    await this.file.write(buf, this.target.offset + offset);
  }

  async read(buf: Buffer, offset: number): Promise<number> {
    const view = this.inSlot(buf, offset);
    return view ? this.file.read(view, this.target.offset + offset) : 0;
  }

  async readVerify(buf: Buffer, offset: number, crc32: number, sha256: Buffer | null): Promise<ReadVerifyResult> {
    const view = this.inSlot(buf, offset);
    if (!view) return { bytes: 0, crc32: 0, sha256Match: false };
    return this.file.readVerify(view, this.target.offset + offset, crc32, sha256);
  }

  datasync(): Promise<void> {
    return this.file.datasync();
  }

  dropCache(): Promise<void> {
    return this.file.dropCache();
  }

  close(): Promise<void> {
    return this.file.close();
  }

  /** The part of `buf` that lies inside the slot when read at `offset`; null when none does. */
  private inSlot(buf: Buffer, offset: number): Buffer | null {
    const len = Math.max(0, Math.min(buf.length, this.target.size - offset));
    if (len === 0) return null;
    return len === buf.length ? buf : buf.subarray(0, len);
  }

  private checkBounds(offset: number, length: number): void {
    if (offset < 0 || offset + length > this.target.size) {
      throw new AbuError('ABU_ERR_IMAGE_TOO_LARGE', `write of ${length} bytes at ${offset} passes the end of slot ${this.target.slot} (${this.target.size} bytes)`);
    }
  }
}
