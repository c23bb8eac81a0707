// Where each chunk of an image lives in the bundle file: the one place that maps (image, chunk) to bundle bytes.
import { chunkCount, type ImageEntry } from './manifest';

/** A chunk's bytes in the bundle file: `length` bytes from `offset` (counted from the file's first byte). */
export interface ChunkExtent {
  offset: number;
  length: number;
}

/**
 * The bundle-file extent of every chunk of `image`, in chunk order. `payloadStart` is where the payload
 * begins (framing.payloadStart of the header; OpenedBundle.payloadStart). Images are stored uncompressed,
 * so chunk i is the i-th chunkSize bytes of the image (the last one shorter). Adaptive installs fetch
 * exactly these extents (HTTP Range, positional reads), so a format with per-chunk stored sizes changes
 * only this function.
 */
export function chunkExtents(image: ImageEntry, payloadStart: number): ChunkExtent[] {
  const start = payloadStart + image.offset;
  const extents: ChunkExtent[] = [];
  for (let i = 0; i < chunkCount(image.size, image.chunkSize); i++) {
    const at = i * image.chunkSize;
    extents.push({ offset: start + at, length: Math.min(image.chunkSize, image.size - at) });
  }
  return extents;
}
