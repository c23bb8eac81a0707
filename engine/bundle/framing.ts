// Bundle container framing: header layout, limits and payload layout (documented in proto/abu.proto).
import { crc32 } from 'node:zlib';
import { AbuError } from '../core/errors';

export const MAGIC = Buffer.from([0x89, 0x41, 0x42, 0x55, 0x0d, 0x0a, 0x1a, 0x0a]);
export const FORMAT_VERSION = 1;
export const HEADER_SIZE = 32;
export const PAYLOAD_ALIGN = 4096;
export const MIB = 1024 * 1024;

export interface BundleLimits {
  maxManifestBytes: number;
  maxSignatureBytes: number;
  maxImageBytes?: number;
}

export const DEFAULT_LIMITS: BundleLimits = { maxManifestBytes: MIB, maxSignatureBytes: 64 * 1024 };

export interface BundleHeader {
  manifestLength: number;
  signatureLength: number;
}

export function align(n: number, to: number = PAYLOAD_ALIGN): number {
  return Math.ceil(n / to) * to;
}

/** Where the first payload byte sits: the header, manifest and signatures, padded to 4 KiB. */
export function payloadStart(header: BundleHeader): number {
  return align(HEADER_SIZE + header.manifestLength + header.signatureLength);
}

/** Offsets of each image from the payload start: 0, then each end rounded up to 4 KiB. */
export function layoutOffsets(sizes: number[]): number[] {
  const offsets: number[] = [];
  let next = 0;
  for (const size of sizes) {
    offsets.push(next);
    next = align(next + size);
  }
  return offsets;
}

export function encodeHeader(header: BundleHeader): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(b, 0);
  b.writeUInt32LE(FORMAT_VERSION, 8);
  b.writeUInt32LE(header.manifestLength, 12);
  b.writeUInt32LE(header.signatureLength, 16);
  b.writeUInt32LE(crc32(b.subarray(0, 28)), 28);
  return b;
}

/**
 * Checks magic, version, CRC, flags and both length limits, in that order: the version comes
 * before the CRC because a later format may lay its header out differently.
 */
export function decodeHeader(b: Buffer, limits: BundleLimits): BundleHeader {
  checkShortHeader(b);
  if (!b.subarray(0, 8).equals(MAGIC)) {
    throw new AbuError('ABU_ERR_BUNDLE_MAGIC', `not an abu bundle: it starts with ${preview(b)}, a bundle starts with ${MAGIC.toString('hex')}; choose the .abu file made by "abu bundle create"`);
  }
  const version = b.readUInt32LE(8);
  if (version !== FORMAT_VERSION) {
    throw new AbuError('ABU_ERR_BUNDLE_VERSION', `bundle format version ${version} is not supported (this abu reads version ${FORMAT_VERSION})`, { details: { version } });
  }
  const stored = b.readUInt32LE(28);
  const computed = crc32(b.subarray(0, 28));
  if (stored !== computed) {
    throw new AbuError('ABU_ERR_BUNDLE_HEADER', `bundle header CRC32 is ${hex32(stored)} but the header bytes give ${hex32(computed)}: the header is corrupt`);
  }
  if (b.readUInt32LE(20) !== 0 || b.readUInt32LE(24) !== 0) {
    throw new AbuError('ABU_ERR_BUNDLE_HEADER', 'bundle header sets flags or reserved bits this abu does not know');
  }
  const header = { manifestLength: b.readUInt32LE(12), signatureLength: b.readUInt32LE(16) };
  checkLength('manifest', header.manifestLength, limits.maxManifestBytes);
  checkLength('signature block', header.signatureLength, limits.maxSignatureBytes);
  if (header.manifestLength === 0) throw new AbuError('ABU_ERR_BUNDLE_HEADER', 'bundle header declares an empty manifest');
  return header;
}

function checkLength(what: string, length: number, limit: number): void {
  if (length > limit) {
    throw new AbuError('ABU_ERR_BUNDLE_LIMIT', `bundle header declares a ${length}-byte ${what}; the limit is ${limit} bytes`, { details: { section: what, length, limit } });
  }
}

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * A header shorter than 32 bytes: an empty file, a few bytes of something else (a text file, an HTML error page
 * saved under the bundle's name) or a bundle cut off inside its header. Only the last is "truncated": the
 * others would send the user looking for a missing tail of a file that never was a bundle.
 */
function checkShortHeader(b: Buffer): void {
  if (b.length >= HEADER_SIZE) return;
  if (b.length === 0) {
    throw new AbuError('ABU_ERR_BUNDLE_TRUNCATED', 'bundle ends at offset 0: it is empty (0 bytes), so it is not an abu bundle, or its copy or download failed', { details: { section: 'header', offset: 0, missing: HEADER_SIZE } });
  }
  const prefix = Math.min(b.length, MAGIC.length);
  if (!b.subarray(0, prefix).equals(MAGIC.subarray(0, prefix))) {
    throw new AbuError('ABU_ERR_BUNDLE_MAGIC', `not an abu bundle: it is only ${b.length} bytes and starts with ${preview(b)}, a bundle starts with ${MAGIC.toString('hex')}`);
  }
  const missing = HEADER_SIZE - b.length;
  throw new AbuError('ABU_ERR_BUNDLE_TRUNCATED', `bundle ends at offset ${b.length} inside the header; ${missing} more bytes were expected`, { details: { section: 'header', offset: b.length, missing } });
}

/** The first bytes in hex, and as text when they are printable (a text file or a web page shows what it is). */
function preview(b: Buffer): string {
  const head = b.subarray(0, 8);
  const text = head.toString('latin1');
  return /^[\x20-\x7e\t\r\n]+$/.test(text) ? `${head.toString('hex')} (text ${JSON.stringify(text)})` : head.toString('hex');
}
