// Turns one stored zstd chunk into its uncompressed bytes, refusing it with an error that names the image and chunk.
import { ZstdChunkError, zstdDecompressInto } from '../../native/zstd';
import { AbuError } from '../core/errors';
import type { ImageEntry } from './manifest';

/**
 * Decompresses chunk `index` of `entry` from `stored` into `target` (exactly the chunk's uncompressed length) in the
 * threadpool. Throws ABU_ERR_CHUNK_CRC when the stored bytes fail their transport CRC32 (damaged in transit), and
 * ABU_ERR_CHUNK_DECOMPRESS when they are not one zstd frame of exactly that length. The uncompressed bytes are not
 * checked here: the signed chunk CRC32 and SHA-256 are checked by whoever consumes them (before writing).
 */
export async function decompressChunk(entry: ImageEntry, index: number, stored: Buffer, target: Buffer): Promise<void> {
  const expected = entry.chunkStoredCrc32?.[index] ?? 0;
  try {
    await zstdDecompressInto(stored, target, expected);
  } catch (e) {
    if (!(e instanceof ZstdChunkError)) throw e;
    const details = { image: entry.name, chunk: index, offset: index * entry.chunkSize, storedBytes: stored.length, reason: e.kind };
    const where = `image ${entry.name} chunk ${index} (${stored.length} stored bytes for ${target.length} bytes at offset ${details.offset})`;
    if (e.kind === 'crc32') throw new AbuError('ABU_ERR_CHUNK_CRC', `${where}: the compressed bytes are damaged: ${e.message}`, { cause: e, details });
    throw new AbuError('ABU_ERR_CHUNK_DECOMPRESS', `${where}: refused: ${e.message}`, { cause: e, details });
  }
}
