// JavaScript chunk verification (zlib CRC32 + SHA-256): for inspect and tests; installs use native.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { AbuError } from '../core/errors';
import type { ImageEntry } from './manifest';

/** Throws ABU_ERR_CHUNK_CRC or ABU_ERR_CHUNK_DIGEST when `data` is not chunk `index` of `image`. */
export function verifyChunk(image: ImageEntry, index: number, data: Buffer): void {
  const details = { image: image.name, chunk: index, offset: index * image.chunkSize };
  const crc = crc32(data);
  if (crc !== image.chunkCrc32[index]) {
    throw new AbuError('ABU_ERR_CHUNK_CRC', `image ${image.name} chunk ${index} (bytes ${details.offset}..${details.offset + data.length - 1}) has CRC32 ${crc.toString(16)}, the manifest says ${image.chunkCrc32[index].toString(16)}`, { details });
  }
  const digest = createHash('sha256').update(data).digest();
  if (!digest.equals(image.chunkSha256[index])) {
    throw new AbuError('ABU_ERR_CHUNK_DIGEST', `image ${image.name} chunk ${index} (bytes ${details.offset}..${details.offset + data.length - 1}) does not match its SHA-256 in the manifest`, { details });
  }
}

export function checkImageDigest(image: ImageEntry, digest: Buffer): void {
  if (!digest.equals(image.sha256)) {
    throw new AbuError('ABU_ERR_IMAGE_DIGEST', `image ${image.name} does not match its whole-image SHA-256 in the manifest`, { details: { image: image.name } });
  }
}
