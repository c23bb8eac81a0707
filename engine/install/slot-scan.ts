// Indexes what the appliance already holds before an adaptive install: the target's chunks, the booted slot's pieces.
import { crc32Async, sha256Async } from '../../native/crc32';
import { withContext } from '../core/errors';
import type { ImageEntry } from '../bundle/manifest';
import type { SlotHandle } from '../slots/slot-store';
import { chunkLength, type LocalIndex } from './adaptive-plan';
import type { BufferPool } from './buffer-pool';

/**
 * Reads the target's chunk positions and the booted slot's chunk-size pieces (over the span of the new image)
 * in parallel, hashing in the addon's worker threads. The booted slot is indexed by CRC32, which costs next to
 * nothing beside the read; every candidate is checked against the signed SHA-256 before it is written.
 * A target chunk counts as held only when its CRC32 and then its SHA-256 match the signed manifest.
 */
export async function indexLocal(entry: ImageEntry, target: SlotHandle, booted: SlotHandle | null, pool: BufferPool, signal?: AbortSignal): Promise<LocalIndex> {
  const depth = Math.max(1, Math.floor(pool.count / 2));
  const [targetHolds, index] = await Promise.all([scanTarget(entry, target, pool, depth, signal), booted ? scanBooted(entry, booted, pool, depth, signal) : new Map()]);
  return { targetHolds, booted: index };
}

async function scanTarget(entry: ImageEntry, target: SlotHandle, pool: BufferPool, depth: number, signal?: AbortSignal): Promise<boolean[]> {
  const holds = new Array<boolean>(entry.chunkCrc32.length).fill(false);
  await eachWithBuffer(entry.chunkCrc32.length, depth, pool, signal, async (i, buf) => {
    const want = chunkLength(entry, i);
    const view = buf.subarray(0, want);
    const got = await readAt(target, view, i * entry.chunkSize);
    if (got !== want || (await crc32Async(view)) >>> 0 !== entry.chunkCrc32[i] >>> 0) return;
    holds[i] = (await sha256Async(view)).equals(entry.chunkSha256[i]);
  });
  return holds;
}

async function scanBooted(entry: ImageEntry, booted: SlotHandle, pool: BufferPool, depth: number, signal?: AbortSignal): Promise<LocalIndex['booted']> {
  const index: LocalIndex['booted'] = new Map();
  const add = (crc: number, offset: number, length: number) => {
    const list = index.get(crc >>> 0) ?? [];
    list.push({ offset, length });
    index.set(crc >>> 0, list);
  };
  const span = Math.min(booted.target.size, entry.size);
  const lastLength = chunkLength(entry, entry.chunkCrc32.length - 1);
  await eachWithBuffer(Math.ceil(span / entry.chunkSize), depth, pool, signal, async (i, buf) => {
    const offset = i * entry.chunkSize;
    const got = await readAt(booted, buf.subarray(0, Math.min(entry.chunkSize, span - offset)), offset);
    if (got === 0) return;
    add(await crc32Async(buf.subarray(0, got)), offset, got);
    // The new image's short last chunk can only match the start of a piece.
    if (lastLength < got) add(await crc32Async(buf.subarray(0, lastLength)), offset, lastLength);
  });
  return index;
}

async function readAt(slot: SlotHandle, buf: Buffer, offset: number): Promise<number> {
  return slot.read(buf, offset).catch((e) => Promise.reject(withContext(`reading slot ${slot.target.slot} (${slot.target.device}) at ${offset}`, e, 'ABU_ERR_IO')));
}

/**
 * Runs job(i, buffer) for i in 0..count-1 with at most `depth` at a time, each with a pool buffer that goes
 * back to the pool when its job settles. Settles only when no job runs, and rejects with the first failure.
 */
export async function eachWithBuffer(count: number, depth: number, pool: BufferPool, signal: AbortSignal | undefined, job: (i: number, buf: Buffer) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < count && failure === undefined) {
      signal?.throwIfAborted();
      const i = next++;
      const buf = pool.take(pool.bufferSize);
      try {
        await job(i, buf);
      } finally {
        pool.give(buf);
      }
    }
  };
  const workers = Array.from({ length: Math.min(depth, count) }, () => worker().catch((e: unknown) => void (failure ??= e)));
  await Promise.all(workers);
  if (failure !== undefined) throw failure;
}
