// First writer pass for a zstd image: reads the image once, digests each chunk and appends its zstd frame to a spool file.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { zstdCompress } from '../../native/zstd';
import type { ImageDigest } from './image-digest';

export interface CompressedImage extends ImageDigest {
  chunkStoredSize: number[];
  chunkStoredCrc32: number[];
}

/** Chunks compressed at once: the libuv threadpool has 4 threads; each chunk in flight holds its input and output. */
const IN_FLIGHT = 4;

interface Pending {
  frame: Promise<Buffer>;
}

/**
 * Reads `path` chunk by chunk (memory: IN_FLIGHT chunks and their frames), computes the uncompressed chunk CRC32 and
 * SHA-256 and the whole-image SHA-256 (what the manifest signs), compresses each chunk to one zstd frame at `level`
 * in the threadpool, and appends the frames in order to `spool` at `spoolOffset`. The digests and the frames come
 * from the same read, so a file changing meanwhile cannot make them disagree.
 */
export async function compressImageFile(path: string, chunkSize: number, level: number, spool: FileHandle, spoolOffset: number): Promise<CompressedImage> {
  const out: CompressedImage = { size: 0, chunkCrc32: [], chunkSha256: [], sha256: Buffer.alloc(0), chunkStoredSize: [], chunkStoredCrc32: [] };
  const whole = createHash('sha256');
  const queue: Pending[] = [];
  let spooled = spoolOffset;
  const drainOne = async (): Promise<void> => {
    const frame = await (queue.shift() as Pending).frame;
    out.chunkStoredSize.push(frame.length);
    out.chunkStoredCrc32.push(crc32(frame));
    await writeAll(spool, frame, spooled);
    spooled += frame.length;
  };
  const input = await open(path, 'r');
  try {
    for (;;) {
      const chunk = await readChunk(input, out.size, chunkSize);
      if (chunk.length === 0) break;
      out.size += chunk.length;
      whole.update(chunk);
      out.chunkCrc32.push(crc32(chunk));
      out.chunkSha256.push(createHash('sha256').update(chunk).digest());
      const frame = zstdCompress(chunk, level);
      frame.catch(() => undefined); // awaited in order by drainOne; a later failure must not go unhandled meanwhile
      queue.push({ frame });
      if (queue.length >= IN_FLIGHT) await drainOne();
      if (chunk.length < chunkSize) break;
    }
    while (queue.length > 0) await drainOne();
  } finally {
    await Promise.allSettled(queue.map((p) => p.frame));
    await input.close();
  }
  out.sha256 = whole.digest();
  return out;
}

/** Up to chunkSize bytes at `position` in a fresh buffer (short only at the end of the file). */
async function readChunk(file: FileHandle, position: number, chunkSize: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(chunkSize);
  let filled = 0;
  while (filled < chunkSize) {
    const { bytesRead } = await file.read(buf, filled, chunkSize - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buf.subarray(0, filled);
}

async function writeAll(file: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await file.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
