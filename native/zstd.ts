// Per-chunk zstd from the addon (system libzstd): decompress into an exact-size buffer, compress for bundle tooling.
import { binding } from './binding';

/** Why a stored chunk was refused: its transport CRC32, a malformed frame, or a size other than the chunk's. */
export type ZstdRefusal = 'crc32' | 'frame' | 'size';

/** A stored chunk the decoder refused; nothing beyond the destination buffer was written. */
export class ZstdChunkError extends Error {
  constructor(readonly kind: ZstdRefusal, message: string) {
    super(message);
    this.name = 'ZstdChunkError';
  }
}

/**
 * Checks `stored` against `storedCrc32` (zlib CRC-32), then decodes it as exactly one zstd frame whose declared and
 * actual content size is dst.length, into dst, in the libuv threadpool. Rejects with ZstdChunkError otherwise; a frame
 * that would decode to more than dst.length stops at the buffer's end (no allocation beyond it). Neither buffer may
 * be touched until the promise settles.
 */
export async function zstdDecompressInto(stored: Uint8Array, dst: Uint8Array, storedCrc32: number): Promise<void> {
  try {
    await (binding().zstdDecompressAsync(stored, dst, storedCrc32 >>> 0) as Promise<void>);
  } catch (e) {
    throw asChunkError(e);
  }
}

/** One zstd frame (content size in the header, no checksum) of `src` at `level` (1..zstdMaxLevel()), in the threadpool. */
export async function zstdCompress(src: Uint8Array, level: number): Promise<Buffer> {
  try {
    return await (binding().zstdCompressAsync(src, level) as Promise<Buffer>);
  } catch (e) {
    throw asChunkError(e);
  }
}

/** libzstd's ZSTD_compressBound(n): the most bytes one frame of n input bytes can take. */
export function zstdCompressBoundNative(n: number): number {
  return binding().zstdCompressBound(n) as number;
}

export function zstdVersion(): string {
  return binding().zstdVersion as string;
}

export function zstdMaxLevel(): number {
  return binding().zstdMaxLevel as number;
}

function asChunkError(e: unknown): unknown {
  const kind = (e as { zstdKind?: unknown } | null)?.zstdKind;
  if (kind === 'crc32' || kind === 'frame' || kind === 'size') return new ZstdChunkError(kind, (e as Error).message);
  return e;
}
