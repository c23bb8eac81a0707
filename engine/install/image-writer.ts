// Streams one image into its slot: verify each chunk then write (several in flight), sync, check the whole digest.
import { VerifyError } from '../../native/block-io';
import { Sha256Stream } from '../../native/crc32';
import { AbuError, withContext } from '../core/errors';
import type { BundleChunk, ImageEntry } from '../bundle/bundle-reader';
import type { SlotHandle } from '../slots/slot-store';
import type { BufferPool } from './buffer-pool';
import type { ProgressMeter } from './progress-meter';
import { ReadBack, canFollowWriter } from './read-back';

export interface ImageWriteOptions {
  pool: BufferPool;
  /** READ_BACK_BUFFERS buffers of the pool's size for reading back; required when readBack is on. */
  readPool?: BufferPool;
  meter: ProgressMeter;
  /** Re-read the slot from the medium and check the whole-image SHA-256 there (default on). */
  readBack: boolean;
  /**
   * With read-back on O_DIRECT slots: fdatasync after every this many bytes, so what is already on the
   * medium is read back and hashed while later chunks are written (0: read everything after the last write).
   */
  syncIntervalBytes: number;
  signal?: AbortSignal;
}

export async function writeImage(entry: ImageEntry, chunks: AsyncIterable<BundleChunk>, slot: SlotHandle, o: ImageWriteOptions): Promise<void> {
  // Without read-back the whole digest is computed from the verified chunks as they stream by.
  const digest = o.readBack ? null : new Sha256Stream();
  const progress = { reporting: false, readBytes: 0 };
  const readBack = o.readBack ? new ReadBack(entry, slot, requirePool(o.readPool), (n) => readProgress(progress, n, entry, o), o.signal) : null;
  const follow = readBack !== null && o.syncIntervalBytes > 0 && canFollowWriter(entry, slot) ? readBack : null;
  try {
    await writeChunks(chunks, slot, digest, follow, o);
    await slot.datasync().catch((e) => Promise.reject(withContext(`fdatasync of slot ${slot.target.slot}`, e, 'ABU_ERR_IO')));
    const actual = readBack ? await finishReadBack(readBack, progress, entry, o) : (digest as Sha256Stream).digest();
    checkDigest(entry, slot, actual, o.readBack);
  } catch (e) {
    // No read may still be in flight when the caller closes the slot.
    await readBack?.settle().catch(() => undefined);
    throw e;
  }
}

/** Verifies and writes chunks with pool.count-1 in flight; every syncIntervalBytes, hands synced bytes to `follow`. */
async function writeChunks(chunks: AsyncIterable<BundleChunk>, slot: SlotHandle, digest: Sha256Stream | null, follow: ReadBack | null, o: ImageWriteOptions): Promise<void> {
  const maxInFlight = o.pool.count - 1;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  const fail = (e: unknown): void => void (failure ??= e);
  let segment: Promise<void>[] = [];
  let segmentStart = 0;
  let synced: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of chunks) {
      o.signal?.throwIfAborted();
      const job = writeChunk(chunk, slot, digest, o).catch(fail);
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
      segment.push(job);
      const end = chunk.offset + chunk.data.length;
      if (follow && end - segmentStart >= o.syncIntervalBytes) {
        // Chained: a sync covers its segment only once every earlier segment is written too.
        synced = syncSegment(Promise.all([synced, ...segment]), end, slot, follow, () => failure !== undefined).catch(fail);
        segment = [];
        segmentStart = end;
      }
      if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (failure) break;
    }
  } finally {
    // Also when the source fails or the install is cancelled: nothing may be in flight when this returns.
    await Promise.all([...inFlight, synced]);
  }
  if (failure) throw failure;
}

/** After every write below `end` has completed: fdatasync, then those bytes may be read back. */
async function syncSegment(written: Promise<unknown>, end: number, slot: SlotHandle, follow: ReadBack, failed: () => boolean): Promise<void> {
  await written;
  if (failed()) return;
  await slot.datasync().catch((e) => Promise.reject(withContext(`fdatasync of slot ${slot.target.slot}`, e, 'ABU_ERR_IO')));
  follow.advance(end);
}

function checkDigest(entry: ImageEntry, slot: SlotHandle, actual: Buffer, readBack: boolean): void {
  if (actual.equals(entry.sha256)) return;
  const code = readBack ? 'ABU_ERR_READBACK' : 'ABU_ERR_IMAGE_DIGEST';
  throw new AbuError(code, `image "${entry.name}" in slot ${slot.target.slot}: SHA-256 ${actual.toString('hex')} does not match the signed ${entry.sha256.toString('hex')}`, {
    details: { image: entry.name, expected: entry.sha256.toString('hex'), actual: actual.toString('hex') },
  });
}

async function writeChunk(chunk: BundleChunk, slot: SlotHandle, digest: Sha256Stream | null, o: ImageWriteOptions): Promise<void> {
  try {
    const hashed = digest?.update(chunk.data);
    await slot.verifyAndWrite(chunk.data, chunk.offset, chunk.crc32, chunk.sha256);
    await hashed;
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

/** The read-back phase: progress restarts at what was already read back while writing. */
async function finishReadBack(readBack: ReadBack, progress: { reporting: boolean; readBytes: number }, entry: ImageEntry, o: ImageWriteOptions): Promise<Buffer> {
  o.meter.reset();
  o.meter.phase('readback', entry.name);
  if (progress.readBytes > 0) o.meter.add(progress.readBytes, 'readback', entry.name);
  progress.reporting = true;
  return readBack.finish();
}

function readProgress(progress: { reporting: boolean; readBytes: number }, n: number, entry: ImageEntry, o: ImageWriteOptions): void {
  progress.readBytes += n;
  if (progress.reporting) o.meter.add(n, 'readback', entry.name);
}

function requirePool(pool: BufferPool | undefined): BufferPool {
  if (!pool) throw new AbuError('ABU_ERR_INTERNAL', 'read-back needs a buffer pool (ImageWriteOptions.readPool)');
  return pool;
}
