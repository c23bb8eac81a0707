// Read-back for adaptive installs: every chunk of the image is re-read from the medium and CRC32-checked.
import { crc32Async } from '../../native/crc32';
import { AbuError, withContext } from '../core/errors';
import type { ImageEntry } from '../bundle/manifest';
import type { SlotHandle } from '../slots/slot-store';
import { chunkLength } from './adaptive-plan';
import type { BufferPool } from './buffer-pool';
import type { ProgressMeter } from './progress-meter';
import { eachWithBuffer, readAt } from './slot-scan';

/**
 * After the sync: drops the cache and re-reads every chunk, checking its signed CRC32: a medium that lost or changed
 * a write, or a writer outside abu that changed a kept chunk after the scan, is caught (ABU_ERR_READBACK), as the
 * full install's read-back does. Every chunk matched its signed SHA-256 in this run (kept ones as read from the
 * target, written ones before the write), so the image is the signed one chunk by chunk; no whole-image SHA-256
 * pass is added on top (it would only re-check the manifest's own consistency, at the cost of a second hash).
 */
export async function readBackChunks(entry: ImageEntry, slot: SlotHandle, pool: BufferPool, meter: ProgressMeter, signal?: AbortSignal): Promise<void> {
  await slot.dropCache().catch((e) => Promise.reject(withContext(`dropping the page cache of slot ${slot.target.slot}`, e, 'ABU_ERR_IO')));
  meter.reset();
  meter.phase('readback', entry.name);
  const bad: number[] = [];
  await eachWithBuffer(entry.chunkCrc32.length, Math.max(1, pool.count - 1), pool, signal, async (i, buf) => {
    const view = buf.subarray(0, chunkLength(entry, i));
    const got = await readAt(slot, view, i * entry.chunkSize);
    if (got !== view.length || (await crc32Async(view)) >>> 0 !== entry.chunkCrc32[i] >>> 0) bad.push(i);
    meter.add(view.length, 'readback', entry.name);
  });
  if (bad.length === 0) return;
  const chunk = Math.min(...bad);
  const offset = chunk * entry.chunkSize;
  throw new AbuError('ABU_ERR_READBACK', `image "${entry.name}" in slot ${slot.target.slot} (${slot.target.device}): the medium holds other bytes than were verified, first in chunk ${chunk} (offset ${offset}); the write is not trustworthy, check the disk`, {
    details: { image: entry.name, chunk, offset },
  });
}
