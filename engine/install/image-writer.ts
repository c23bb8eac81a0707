// Streams one image into its slot: verify each chunk then write (several in flight), sync, check the whole digest.
import { VerifyError } from '../../native/block-io';
import { Sha256Stream } from '../../native/crc32';
import { AbuError, withContext } from '../core/errors';
import type { BundleChunk, ImageEntry } from '../bundle/bundle-reader';
import type { SlotHandle } from '../slots/slot-store';
import type { BufferPool } from './buffer-pool';
import type { ProgressMeter } from './progress-meter';
import { ReadBack, type ReadBackResult } from './read-back';

export interface ImageWriteOptions {
  /** Chunk buffers: the reader fills them, pool.count-1 are in flight; read-back reuses them after the last write. */
  pool: BufferPool;
  meter: ProgressMeter;
  /** Re-read the slot from the medium and check the whole-image SHA-256 there (default on). */
  readBack: boolean;
  signal?: AbortSignal;
}

export async function writeImage(entry: ImageEntry, chunks: AsyncIterable<BundleChunk>, slot: SlotHandle, o: ImageWriteOptions): Promise<void> {
  // Without read-back the whole digest is computed from the verified chunks as they stream by.
  const digest = o.readBack ? null : new Sha256Stream();
  await writeChunks(chunks, slot, digest, o);
  await slot.datasync().catch((e) => Promise.reject(withContext(`fdatasync of slot ${slot.target.slot}`, e, 'ABU_ERR_IO')));
  const actual = digest ? { sha256: digest.digest(), badChunk: null } : await readBackDigest(entry, slot, o);
  if (!actual.sha256.equals(entry.sha256)) throw digestMismatch(entry, slot, actual, o.readBack);
}

/**
 * Whose fault a wrong whole-image digest is. Every chunk matched its signed SHA-256 before it was written, so:
 * a chunk read back with another CRC32 means the medium returned other bytes (ABU_ERR_READBACK, a disk fault);
 * chunks that all read back (or streamed) right mean the manifest's whole digest does not match its own
 * chunk table (ABU_ERR_IMAGE_DIGEST, the bundle is at fault and another disk would not help).
 */
function digestMismatch(entry: ImageEntry, slot: SlotHandle, actual: ReadBackResult, readBack: boolean): AbuError {
  const details = { image: entry.name, expected: entry.sha256.toString('hex'), actual: actual.sha256.toString('hex') };
  const where = `image "${entry.name}" in slot ${slot.target.slot} (${slot.target.device})`;
  if (actual.badChunk !== null) {
    const offset = actual.badChunk * entry.chunkSize;
    return new AbuError('ABU_ERR_READBACK', `${where}: the medium returned other bytes than were written, first in chunk ${actual.badChunk} (offset ${offset}); the write is not trustworthy, check the disk`, {
      details: { ...details, chunk: actual.badChunk, offset },
    });
  }
  const how = readBack ? 'every chunk matched its signed SHA-256 when written and reads back with its signed CRC32' : 'every chunk matched its signed SHA-256';
  return new AbuError('ABU_ERR_IMAGE_DIGEST', `${where}: ${how}, yet the image hashes to ${details.actual}, not the ${details.expected} the manifest says: the bundle's whole-image digest is wrong (rebuild it)`, { details });
}

/** Verifies and writes chunks with pool.count-1 in flight; settles only when none is in flight, even on failure. */
export async function writeChunks(chunks: AsyncIterable<BundleChunk>, slot: SlotHandle, digest: Sha256Stream | null, o: ImageWriteOptions): Promise<void> {
  const maxInFlight = o.pool.count - 1;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  try {
    for await (const chunk of chunks) {
      o.signal?.throwIfAborted();
      const job = writeChunk(chunk, slot, digest, o).catch((e: unknown) => void (failure ??= e));
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

async function writeChunk(chunk: BundleChunk, slot: SlotHandle, digest: Sha256Stream | null, o: ImageWriteOptions): Promise<void> {
  const hashed = digest?.update(chunk.data);
  try {
    await slot.verifyAndWrite(chunk.data, chunk.offset, chunk.crc32, chunk.sha256);
    await hashed;
    o.meter.add(chunk.data.length, 'writing', chunk.image.name);
  } catch (e) {
    throw chunkError(e, chunk, slot);
  } finally {
    // The streamed hash may still read the buffer when the write failed: the reader must not refill it yet.
    await hashed?.catch(() => undefined);
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

/** Every write has completed and the pool is idle: the read-back uses its buffers. */
async function readBackDigest(entry: ImageEntry, slot: SlotHandle, o: ImageWriteOptions): Promise<ReadBackResult> {
  o.meter.reset();
  o.meter.phase('readback', entry.name);
  return new ReadBack(entry, slot, o.pool, (n) => o.meter.add(n, 'readback', entry.name), o.signal).wholeDigest();
}
