// Streams one image into its slot: verify each chunk then write (several in flight), sync, read back the CRC32 of every chunk (or of those asked for).
import { faultPoint } from '../core/fault-point';
import { VerifyError } from '../../native/block-io';
import { AbuError, withContext } from '../core/errors';
import type { BundleChunk, ImageEntry } from '../bundle/bundle-reader';
import type { SlotHandle } from '../slots/slot-store';
import type { BufferPool } from './buffer-pool';
import type { ProgressMeter } from './progress-meter';
import { ReadBack } from './read-back';

export interface ImageWriteOptions {
  /** Chunk buffers: the reader fills them, pool.count-1 are in flight; read-back reuses them after the last write. */
  pool: BufferPool;
  meter: ProgressMeter;
  /** Re-read the slot from the medium (O_DIRECT) and check every chunk's signed CRC32 there (default on). */
  readBack: boolean;
  /**
   * Only these chunks (ascending) are read back: the ones this run wrote, when an adaptive install checked the
   * others on the medium by SHA-256 (O_DIRECT) in this same run. Absent: every chunk of the image.
   */
  readBackChunks?: readonly number[];
  signal?: AbortSignal;
}

/**
 * One SHA-256 pass per byte: each chunk is checked against its signed SHA-256 just before it is written,
 * and that is all the hashing an install does. The manifest's whole-image SHA-256 is not recomputed here:
 * the signed chunk digests cover the image exactly (the manifest validator requires the chunk table to
 * tile `size`), so the bytes written are the signed bytes whatever that digest says, and hashing them a
 * second time added a third of the CPU of an install and no authenticity. The whole-image digest stays in
 * the manifest for people (`sha256sum` of the image or slot) and is checked where a bundle is made or
 * examined: `abu bundle create` (it hashes each input twice) and `abu bundle inspect --verify-payload`
 * (ABU_ERR_IMAGE_DIGEST). What the read-back still proves is the medium's side: each chunk reads back with
 * its signed CRC32, or the first that does not is named (ABU_ERR_READBACK).
 */
export async function writeImage(entry: ImageEntry, chunks: AsyncIterable<BundleChunk>, slot: SlotHandle, o: ImageWriteOptions): Promise<void> {
  await writeChunks(chunks, slot, o);
  faultPoint('install.after-last-write');
  await slot.datasync().catch((e) => Promise.reject(withContext(`fdatasync of slot ${slot.target.slot}`, e, 'ABU_ERR_IO')));
  faultPoint('install.after-sync');
  if (!o.readBack) return;
  const badChunk = await readBack(entry, slot, o);
  if (badChunk !== null) throw readBackMismatch(entry, slot, badChunk);
}

/** Every chunk matched its signed SHA-256 before it was written: one that reads back with another CRC32 is the medium's fault. */
function readBackMismatch(entry: ImageEntry, slot: SlotHandle, badChunk: number): AbuError {
  const where = `image "${entry.name}" in slot ${slot.target.slot} (${slot.target.device})`;
  const offset = badChunk * entry.chunkSize;
  return new AbuError('ABU_ERR_READBACK', `${where}: the medium returned other bytes than were written, first in chunk ${badChunk} (offset ${offset}); the write is not trustworthy, check the disk`, {
    details: { image: entry.name, chunk: badChunk, offset, expectedCrc32: entry.chunkCrc32[badChunk] >>> 0 },
  });
}

/** Verifies and writes chunks with pool.count-1 in flight; settles only when none is in flight, even on failure. */
export async function writeChunks(chunks: AsyncIterable<BundleChunk>, slot: SlotHandle, o: ImageWriteOptions): Promise<void> {
  const maxInFlight = o.pool.count - 1;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    for await (const chunk of chunks) {
      o.signal?.throwIfAborted();
      const job = writeChunk(chunk, slot, o).catch((e: unknown) => void (failure ??= e));
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (failure) break;
    }
  } finally {
    // Also when the source fails or the install is cancelled: the caller closes the slot next.
    await Promise.all(inFlight);
  }
  if (failure) throw failure;
}

async function writeChunk(chunk: BundleChunk, slot: SlotHandle, o: ImageWriteOptions): Promise<void> {
  try {
    await slot.verifyAndWrite(chunk.data, chunk.offset, chunk.crc32, chunk.sha256);
    faultPoint('install.after-chunk');
    o.meter.add(chunk.data.length, 'writing', chunk.image.name);
  } catch (e) {
    throw chunkError(e, chunk, slot);
  } finally {
    o.pool.give(chunk.data);
  }
}

function chunkError(e: unknown, chunk: BundleChunk, slot: SlotHandle): AbuError {
  const where = `image "${chunk.image.name}" chunk ${chunk.index} (offset ${chunk.offset})`;
  if (e instanceof VerifyError) {
    const code = e.kind === 'crc32' ? 'ABU_ERR_CHUNK_CRC' : 'ABU_ERR_CHUNK_DIGEST';
    return new AbuError(code, `${where}: ${e.kind} is ${e.actual}, the signed manifest says ${e.expected}; nothing of this chunk was written`, {
      cause: e,
      details: { image: chunk.image.name, chunk: chunk.index },
    });
  }
  return withContext(`writing ${where} to slot ${slot.target.slot} (${slot.target.device})`, e, 'ABU_ERR_IO');
}

/**
 * Every write has completed and the pool is idle: the read-back uses its buffers. A partial read-back counts
 * against the bytes it reads, then leaves the meter where a whole-image one would (this image's bytes done).
 */
async function readBack(entry: ImageEntry, slot: SlotHandle, o: ImageWriteOptions): Promise<number | null> {
  const check = new ReadBack(entry, slot, o.pool, (n) => o.meter.add(n, 'readback', entry.name), o.signal, o.readBackChunks);
  o.meter.reset(o.readBackChunks ? check.bytes : undefined);
  o.meter.phase('readback', entry.name);
  const badChunk = await check.firstBadChunk();
  if (o.readBackChunks) o.meter.reset(undefined, entry.size);
  return badChunk;
}
