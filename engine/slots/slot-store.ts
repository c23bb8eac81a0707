// The slot-store seam: where image bytes go. A handle is a bounded window onto a device or file.
import type { ReadVerifyResult } from '../../native/block-io';
import type { SlotName } from '../core/slot';

/** Where one image class of one slot lives. */
export interface SlotTarget {
  slot: SlotName;
  slotClass: string;
  /** Device or file path. */
  device: string;
  /** Byte offset of the slot inside `device` (0 for a whole device). */
  offset: number;
  size: number;
}

/**
 * An open slot, addressed from 0 to size. Offsets are relative to the slot.
 * Writes past `size` are refused; the store never hands out a handle on the booted slot.
 */
export interface SlotHandle {
  readonly target: SlotTarget;
  /** False when the filesystem refused O_DIRECT and writes go through the page cache. */
  readonly direct: boolean;
  readonly directFallbackReason?: string;
  /** Verify CRC32 + SHA-256 of `buf` (off the event loop) and write it only when both match. */
  verifyAndWrite(buf: Buffer, offset: number, crc32: number, sha256: Buffer): Promise<void>;
  write(buf: Buffer, offset: number): Promise<void>;
  read(buf: Buffer, offset: number): Promise<number>;
  /**
   * read(), then the CRC-32 of the bytes read and, only when it equals `crc32`, whether their SHA-256 is `sha256`
   * (null: the CRC-32 only), in one worker job; nothing is written. Bytes past the slot's end are not read, as with read().
   */
  readVerify(buf: Buffer, offset: number, crc32: number, sha256: Buffer | null): Promise<ReadVerifyResult>;
  datasync(): Promise<void>;
  /** Make the next read come from the medium, not the page cache. */
  dropCache(): Promise<void>;
  close(): Promise<void>;
}

export interface SlotStore {
  /** Locate a slot class of a slot (size included) without opening it for writing. */
  resolve(slot: SlotName, slotClass: string): Promise<SlotTarget>;
  /** Classes a slot has ("rootfs", ...). */
  classes(slot: SlotName): string[];
  /** Open for writing. Refuses (ABU_ERR_TARGET_IS_ACTIVE) when the target overlaps the booted slot. */
  openForWrite(target: SlotTarget, booted: SlotName): Promise<SlotHandle>;
  /** Open for reading (status, read-back, hashing the booted slot in tests). */
  openForRead(target: SlotTarget): Promise<SlotHandle>;
}
