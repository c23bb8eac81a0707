// First writer pass: streams an image file once to get its size, chunk CRC32/SHA-256 table and digest.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { crc32 } from 'node:zlib';

export interface ImageDigest {
  size: number;
  chunkCrc32: number[];
  chunkSha256: Buffer[];
  sha256: Buffer;
}

/** Bounded memory: at most one chunk is assembled at a time. */
export async function digestImageFile(path: string, chunkSize: number): Promise<ImageDigest> {
  const whole = createHash('sha256');
  const chunkCrc32: number[] = [];
  const chunkSha256: Buffer[] = [];
  let crc = 0;
  let hash = createHash('sha256');
  let inChunk = 0;
  let size = 0;
  const closeChunk = (): void => {
    chunkCrc32.push(crc);
    chunkSha256.push(hash.digest());
    crc = 0;
    hash = createHash('sha256');
    inChunk = 0;
  };
  for await (const piece of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    whole.update(piece);
    size += piece.length;
    for (let at = 0; at < piece.length;) {
      const part = piece.subarray(at, at + chunkSize - inChunk);
      crc = crc32(part, crc);
      hash.update(part);
      inChunk += part.length;
      at += part.length;
      if (inChunk === chunkSize) closeChunk();
    }
  }
  if (inChunk > 0) closeChunk();
  return { size, chunkCrc32, chunkSha256, sha256: whole.digest() };
}
