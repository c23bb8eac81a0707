// Where each chunk of an image lives in the bundle file: the one place that turns a manifest entry into byte ranges.
import type { ImageEntry } from './manifest';

/** A chunk's stored bytes: `offset` from the first byte of the bundle file, `length` bytes as stored (compressed or not). */
export interface ChunkExtent {
  offset: number;
  length: number;
}

/**
 * Every chunk of `image`, in order. `payloadStart` is the bundle's payload start P (framing.payloadStart(header)),
 * so `offset` is absolute in the bundle file and can go straight into an HTTP Range or a pread. Chunks of an image
 * are stored back to back from P + image.offset: an uncompressed chunk takes its chunk length, a zstd chunk its
 * chunkStoredSize entry. Expects a validated manifest entry.
 */
export function chunkExtents(image: ImageEntry, payloadStart: number): ChunkExtent[] {
  const extents: ChunkExtent[] = [];
  let offset = payloadStart + image.offset;
  const count = Math.ceil(image.size / image.chunkSize);
  for (let i = 0; i < count; i++) {
    const length = storedChunkLength(image, i);
    extents.push({ offset, length });
    offset += length;
  }
  return extents;
}

/** Bytes chunk i of `image` takes in the bundle. */
export function storedChunkLength(image: ImageEntry, i: number): number {
  if (image.compression === 'zstd') return image.chunkStoredSize?.[i] ?? 0;
  return Math.min(image.chunkSize, image.size - i * image.chunkSize);
}

/** Bytes the whole image takes in the bundle (before the padding to the next 4 KiB). */
export function storedLength(image: ImageEntry): number {
  if (image.compression !== 'zstd') return image.size;
  return (image.chunkStoredSize ?? []).reduce((sum, n) => sum + n, 0);
}

/**
 * libzstd's ZSTD_COMPRESSBOUND(n) (zstd.h, 1.4 .. 1.5): the largest frame one compression of n bytes can produce.
 * Kept in TypeScript so validating a manifest needs no addon; a unit test compares it with the library's.
 */
export function zstdCompressBound(n: number): number {
  const small = 128 * 1024;
  return n + Math.floor(n / 256) + (n < small ? Math.floor((small - n) / 2048) : 0);
}

/**
 * Bytes past a chunk's end that let its stored bytes, placed at the end of the same buffer, be decompressed in place:
 * libzstd's ZSTD_DECOMPRESSION_MARGIN(n, 128 KiB) (zstd.h 1.5.4+: frame header, 3 bytes per block, one block),
 * rounded up to 4 KiB for O_DIRECT buffers: a frame's blocks are at most 128 KiB. The addon checks each frame's own
 * margin and decodes from a copy when the room is short, so this sizes buffers; it is not trusted for safety.
 */
export function zstdInPlaceMargin(n: number): number {
  const block = 128 * 1024;
  const margin = 18 + 4 + 3 * Math.ceil(n / block) + block;
  return Math.ceil(margin / 4096) * 4096;
}

/** The smallest chunk size a manifest may use (manifest.MIN_CHUNK_SIZE; repeated here to keep this file import-free). */
const SMALLEST_CHUNK = 64 * 1024;

/**
 * The most bytes an image of `size` bytes can take in a valid bundle, compressed or not, whatever its chunk size:
 * every chunk's stored size is at most the compress bound of its length, and the bound per byte is largest for the
 * smallest chunks. What a transport must admit so a zstd bundle of an incompressible image that fills its slot fits.
 */
export function maxStoredLength(size: number): number {
  return Math.max(size, Math.ceil(size / SMALLEST_CHUNK) * zstdCompressBound(SMALLEST_CHUNK));
}

