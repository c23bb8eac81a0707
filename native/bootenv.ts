// Typed facade over the boot-environment codecs (U-Boot env, GRUB env block, Android bootloader_control).
// Pure byte transforms, synchronous because they touch no disk. Strings are latin1 byte strings so that
// any byte an env holds survives a round trip. Errors are Error objects whose `code` is an ABU_ERR_* code
// (ABU_ERR_BOOTENV_FORMAT, ABU_ERR_BOOTENV_FULL); engine/boot turns them into AbuError.
import { binding } from './binding';

export interface UbootLayout {
  /** Two copies with a flags byte at offset 4 (CONFIG_ENV_REDUNDANT); otherwise CRC then data. */
  redundant: boolean;
  /** CRC stored big-endian (mkenvimage -b); default little-endian. */
  bigEndian?: boolean;
}

export interface UbootCopy {
  crcValid: boolean;
  /** The redundant flags byte, null for a single-copy layout. */
  flags: number | null;
  /** Raw `name=value` entries in stored order; null when the CRC is bad. */
  entries: string[] | null;
}

/** Decode one copy. Throws ABU_ERR_BOOTENV_FORMAT when a CRC-valid copy is not double-NUL terminated. */
export function ubootEnvDecode(copy: Buffer, layout: UbootLayout): UbootCopy {
  return binding().ubootEnvDecode(copy, layout);
}

/** Encode entries into a copy of `size` bytes with 0x00 padding. Throws ABU_ERR_BOOTENV_FULL on overflow. */
export function ubootEnvEncode(entries: readonly string[], opts: UbootLayout & { size: number; flags?: number }): Buffer {
  return binding().ubootEnvEncode(entries, { flags: 0, ...opts });
}

/**
 * Which redundant copy U-Boot uses (env/common.c env_check_redund): the CRC-valid one; if both are valid the
 * higher flags counter wins, with 255 -> 0 counted as a step forward, and equal flags pick copy 0. -1: none valid.
 */
export function ubootEnvSelect(copy0: Buffer, copy1: Buffer, bigEndian = false): { index: -1 | 0 | 1; crcValid: [boolean, boolean] } {
  return binding().ubootEnvSelect(copy0, copy1, { bigEndian });
}

/** One line GRUB walks: [name, value, raw] for a variable, [null, null, raw] for a comment; raw ends in '\n'. */
export type GrubEnvItem = [string | null, string | null, string | null];

export interface GrubEnvBlock {
  /** Variables in block order as GRUB sees them (values unescaped, names and values cut at a NUL). */
  entries: Array<[string, string]>;
  /** Comment lines other than the signature and the '#' padding (e.g. Debian's warning line), with their '#'. */
  comments: string[];
}

/** A block as decoded: the views above plus every line in order with its stored bytes, and the tail. */
export interface GrubEnvLayout extends GrubEnvBlock {
  items: GrubEnvItem[];
  /** From where GRUB stops reading to the end: the '#' padding, or a broken last line (see grub_env_codec.cc). */
  tail: string;
}

/** Parse a GRUB env block as GRUB does. Throws ABU_ERR_BOOTENV_FORMAT only when the signature is missing. */
export function grubEnvDecode(block: Buffer): GrubEnvLayout {
  return binding().grubEnvDecode(block);
}

/**
 * Lay out a block of exactly `size` bytes: from `items` and `tail` (lines with raw bytes kept as stored), or
 * from comments then entries, '#'-padded as grub-editenv writes it. Throws ABU_ERR_BOOTENV_FULL when it does
 * not fit.
 */
export function grubEnvEncode(block: GrubEnvBlock | { items: GrubEnvItem[]; tail: string }, size = 1024): Buffer {
  if ('items' in block) return binding().grubEnvEncode(block.items, block.tail, size);
  const items: GrubEnvItem[] = [
    ...block.comments.map((c): GrubEnvItem => [null, null, `${c}\n`]),
    ...block.entries.map(([k, v]): GrubEnvItem => [k, v, null]),
  ];
  return binding().grubEnvEncode(items, '', size);
}

export interface AndroidSlotMetadata {
  /** 0..15; 0 means unbootable. */
  priority: number;
  /** 0..7 */
  triesRemaining: number;
  successfulBoot: boolean;
  verityCorrupted: boolean;
}

export interface AndroidBootControl {
  slotSuffix: string;
  magic: number;
  version: number;
  nbSlot: number;
  recoveryTriesRemaining: number;
  mergeStatus: number;
  /** Always four entries on decode; encode accepts up to four. */
  slots: AndroidSlotMetadata[];
}

export const ANDROID_BOOT_CTRL_MAGIC = 0x42414342;
export const ANDROID_BOOT_CTRL_OFFSET = 2048;
export const ANDROID_BOOT_CTRL_SIZE = 32;

/** Decode the 32-byte struct; the CRC is reported, not enforced (the caller decides like the HAL or U-Boot). */
export function androidBootControlDecode(bytes: Buffer): AndroidBootControl & { storedCrc: number; crcValid: boolean } {
  return binding().androidBootControlDecode(bytes);
}

/** Encode with a fresh CRC; reserved bytes and bits are copied from `base` when given. */
export function androidBootControlEncode(fields: AndroidBootControl, base?: Buffer): Buffer {
  return binding().androidBootControlEncode(fields, base);
}
