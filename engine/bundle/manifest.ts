// The decoded manifest model and its validation (every field, with messages naming the field).
// Only the functions used: the package's index loads all of its ~45 modules (~15 ms of every install's start-up).
import semverValid = require('semver/functions/valid');
import semverValidRange = require('semver/ranges/valid');
import { AbuError } from '../core/errors';
import { storedLength, zstdCompressBound } from './chunk-layout';
import { layoutOffsets, MIB } from './framing';

export type Compression = 'none' | 'zstd';

export interface ImageEntry {
  name: string;
  slotClass: string;
  size: number;
  chunkSize: number;
  chunkCrc32: number[];
  chunkSha256: Buffer[];
  sha256: Buffer;
  offset: number;
  compression: Compression;
  /** zstd only (absent or empty for none): bytes of each chunk as stored in the bundle, one zstd frame each. */
  chunkStoredSize?: number[];
  /** zstd only: CRC32 of each chunk's stored (compressed) bytes, checked before they are decompressed. */
  chunkStoredCrc32?: number[];
}

export interface Manifest {
  product: string;
  version: string;
  description: string;
  buildTime: number;
  source: { exact?: string; range?: string };
  irreversible: boolean;
  images: ImageEntry[];
}

export const MIN_CHUNK_SIZE = 64 * 1024;
export const MAX_CHUNK_SIZE = 16 * MIB;
export const DEFAULT_CHUNK_SIZE = 4 * MIB;
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
const MAX_DESCRIPTION_BYTES = 4096;
const MAX_PRODUCT_CHARS = 128;

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

export function isValidChunkSize(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_CHUNK_SIZE && n <= MAX_CHUNK_SIZE && (n & (n - 1)) === 0;
}

export function isSafeName(s: string): boolean {
  return SAFE_NAME.test(s);
}

/** Throws ABU_ERR_MANIFEST_INVALID (or _COMPRESSION_UNSUPPORTED, _BUNDLE_LIMIT) naming the field. */
export function validateManifest(m: Manifest, maxImageBytes?: number): void {
  if (m.product.length === 0 || m.product.length > MAX_PRODUCT_CHARS || /[\x00-\x1f\x7f]/.test(m.product)) {
    invalid('product', `must be 1..${MAX_PRODUCT_CHARS} printable characters, got ${JSON.stringify(m.product.slice(0, 80))}`);
  }
  if (m.version.length > 64 || semverValid(m.version) !== m.version) invalid('version', `${JSON.stringify(m.version.slice(0, 80))} is not a semantic version of at most 64 characters`);
  if (Buffer.byteLength(m.description) > MAX_DESCRIPTION_BYTES) invalid('description', `is longer than ${MAX_DESCRIPTION_BYTES} bytes`);
  if (m.source.exact !== undefined && semverValid(m.source.exact) !== m.source.exact) invalid('source.exact', `${JSON.stringify(m.source.exact)} is not a semantic version`);
  if (m.source.range !== undefined && semverValidRange(m.source.range) === null) invalid('source.range', `${JSON.stringify(m.source.range)} is not a semver range`);
  if (m.images.length === 0) invalid('images', 'the manifest lists no image');
  const names = new Set<string>();
  const classes = new Map<string, string>();
  m.images.forEach((image, i) => {
    validateImage(image, `images[${i}]`, maxImageBytes);
    if (names.has(image.name)) invalid(`images[${i}].name`, `duplicate image name ${JSON.stringify(image.name)}`);
    names.add(image.name);
    // Two images for one slot class would overwrite each other in the same target: no appliance can install it.
    const other = classes.get(image.slotClass);
    if (other !== undefined) invalid(`images[${i}].slot_class`, `${JSON.stringify(image.slotClass)} is already the target of image ${JSON.stringify(other)}; one image per slot class`);
    classes.set(image.slotClass, image.name);
  });
  checkLayout(m.images);
}

function validateImage(image: ImageEntry, field: string, maxImageBytes?: number): void {
  if (!isSafeName(image.name)) invalid(`${field}.name`, `${JSON.stringify(image.name.slice(0, 80))} is not a safe name ([A-Za-z0-9._-], 1..64 characters, no leading dot)`);
  if (!isSafeName(image.slotClass)) invalid(`${field}.slot_class`, `${JSON.stringify(image.slotClass.slice(0, 80))} is not a safe name`);
  if (image.size <= 0) invalid(`${field}.size`, 'must be greater than 0');
  if (maxImageBytes !== undefined && image.size > maxImageBytes) {
    throw new AbuError('ABU_ERR_BUNDLE_LIMIT', `image ${image.name} is ${image.size} bytes; the limit is ${maxImageBytes}`, { details: { image: image.name, size: image.size, limit: maxImageBytes } });
  }
  if (!isValidChunkSize(image.chunkSize)) invalid(`${field}.chunk_size`, `${image.chunkSize} is not a power of two between ${MIN_CHUNK_SIZE} and ${MAX_CHUNK_SIZE}`);
  const count = chunkCount(image.size, image.chunkSize);
  if (image.chunkCrc32.length !== count) invalid(`${field}.chunk_crc32`, `has ${image.chunkCrc32.length} entries; ${image.size} bytes in ${image.chunkSize}-byte chunks need ${count}`);
  if (image.chunkSha256.length !== count) invalid(`${field}.chunk_sha256`, `has ${image.chunkSha256.length} entries; ${count} chunks need ${count}`);
  const bad = image.chunkSha256.findIndex((d) => d.length !== 32);
  if (bad >= 0) invalid(`${field}.chunk_sha256[${bad}]`, `is ${image.chunkSha256[bad].length} bytes, not 32`);
  if (image.sha256.length !== 32) invalid(`${field}.sha256`, `is ${image.sha256.length} bytes, not 32`);
  validateStored(image, field, count);
}

/**
 * The stored-chunk table: absent for uncompressed images; for zstd one entry per chunk, each stored size 1..the
 * zstd compress bound of that chunk's length, so no stored chunk can make a reader buffer more than that.
 */
function validateStored(image: ImageEntry, field: string, count: number): void {
  const sizes = image.chunkStoredSize ?? [];
  const crcs = image.chunkStoredCrc32 ?? [];
  if (image.compression === 'none') {
    if (sizes.length > 0) invalid(`${field}.chunk_stored_size`, 'is set on an uncompressed image');
    if (crcs.length > 0) invalid(`${field}.chunk_stored_crc32`, 'is set on an uncompressed image');
    return;
  }
  if (sizes.length !== count) invalid(`${field}.chunk_stored_size`, `has ${sizes.length} entries; ${count} chunks need ${count}`);
  if (crcs.length !== count) invalid(`${field}.chunk_stored_crc32`, `has ${crcs.length} entries; ${count} chunks need ${count}`);
  sizes.forEach((stored, j) => {
    const length = Math.min(image.chunkSize, image.size - j * image.chunkSize);
    const bound = zstdCompressBound(length);
    if (!Number.isInteger(stored) || stored <= 0 || stored > bound) {
      invalid(`${field}.chunk_stored_size[${j}]`, `is ${stored}; a zstd frame of a ${length}-byte chunk takes 1..${bound} bytes`);
    }
  });
}

function checkLayout(images: ImageEntry[]): void {
  const expected = layoutOffsets(images.map(storedLength));
  images.forEach((image, i) => {
    if (image.offset !== expected[i]) invalid(`images[${i}].offset`, `is ${image.offset}; the 4 KiB-aligned layout puts ${image.name} at ${expected[i]}`);
  });
  const last = images[images.length - 1];
  if (!Number.isSafeInteger(last.offset + storedLength(last))) invalid('images', 'the payload is too large to address');
}

export function invalid(field: string, problem: string): never {
  throw new AbuError('ABU_ERR_MANIFEST_INVALID', `manifest field ${field} ${problem}`, { details: { field } });
}
