// Adaptive install: index what the appliance holds, keep or copy those chunks, fetch only the rest from the bundle.
import { AbuError } from '../core/errors';
import type { BundleChunk, ImageEntry, OpenedBundle } from '../bundle/bundle-reader';
import { decompressChunk } from '../bundle/chunk-decompress';
import { chunkExtents, storedLength, zstdCompressBound, type ChunkExtent } from '../bundle/chunk-layout';
import { RangeIgnoredError, type RangeReader } from '../sources/range-reader';
import type { SlotHandle } from '../slots/slot-store';
import { chunkLength, fetchRuns, planChunks, type ChunkCounts } from './adaptive-plan';
import type { BufferPool } from './buffer-pool';
import { writeImage } from './image-writer';
import type { InstallPlan } from './plan';
import type { ProgressMeter } from './progress-meter';
import { readBackChunks } from './read-back';
import { eachWithBuffer, readAt, scanSlots, verifiedWrite } from './slot-scan';

export interface AdaptiveWrite {
  bundle: OpenedBundle;
  plan: InstallPlan;
  /** Open for writing, one per planned image. */
  targets: SlotHandle[];
  /** The booted slot's image of the same class, open read-only (null when it has none). */
  booted: (SlotHandle | null)[];
  /**
   * Range requests against the bundle URL when its server answered the head's Range, or GET lines to a serial pusher
   * that granted `ranges` (the bundle stream then ends after the head); null: the bundle stream is read in order
   * (files seek past what is not needed).
   */
  ranges: RangeReader | null;
  /** The bundle's size when the source knows it (a Range install checks it instead of reading to the end). */
  bundleSize?: number;
  pool: BufferPool;
  meter: ProgressMeter;
  /** Re-read every chunk from the medium after the sync and check its CRC32 (config install.readBack). */
  readBack: boolean;
  /** Per image, the chunks a resume checkpoint listed that re-read with their CRC32 in this run (resume.ts). */
  resumed: boolean[][];
  /** Told the chunks each image's target holds, checked on the medium in this run (the checkpoint records them). */
  onHeld: (k: number, held: boolean[]) => void;
  log: (message: string) => void;
  signal?: AbortSignal;
}

/**
 * Writes every image of the plan adaptively and returns the bytes fetched, copied and skipped. Every chunk of the
 * image is checked against its signed SHA-256 in this run (kept ones as read from the target, written ones before
 * the write); the read-back then checks on the medium by CRC32 the chunks this run wrote (see readBackChunks).
 */
export async function writeAdaptive(w: AdaptiveWrite): Promise<ChunkCounts> {
  const counts: ChunkCounts = { fetched: 0, copied: 0, skipped: 0 };
  w.meter.transfer(counts);
  if (w.ranges) await writeWithRanges(w, w.ranges, counts);
  else await writeFromStream(w, counts);
  return counts;
}

/** Files, uploads, stdin and servers without Range: the bundle is read in order; unneeded chunks are skipped. */
async function writeFromStream(w: AdaptiveWrite, counts: ChunkCounts): Promise<void> {
  let wanted = new Set<number>();
  let k = 0;
  for await (const image of w.bundle.images({ allocate: (n) => w.pool.take(n), skip: (_e, i) => !wanted.has(i), decompressAhead: w.pool.ahead() })) {
    const local = await keepAndCopy(w, k, counts);
    wanted = new Set(local.fetch);
    await fetchAndCheck(w, k, image.chunks, counts, local.held);
    k++;
  }
  if (k !== w.plan.images.length) throw new AbuError('ABU_ERR_BUNDLE_TRUNCATED', `bundle delivered ${k} of ${w.plan.images.length} images`);
  await w.bundle.finish();
}

/** HTTP with Range, or a serial push with ranges: only the runs of missing chunks are requested; the rest of the bundle is never downloaded. */
async function writeWithRanges(w: AdaptiveWrite, ranges: RangeReader, counts: ChunkCounts): Promise<void> {
  for (let k = 0; k < w.plan.images.length; k++) {
    const entry = w.plan.images[k].entry;
    const { fetch, held } = await keepAndCopy(w, k, counts);
    await fetchAndCheck(w, k, rangeChunks(entry, fetch, chunkExtents(entry, w.bundle.payloadStart), ranges, w.pool), counts, held);
  }
  const last = w.bundle.manifest.images[w.bundle.manifest.images.length - 1];
  const end = w.bundle.payloadStart + last.offset + storedLength(last);
  if (w.bundleSize !== undefined && w.bundleSize !== end) {
    const code = w.bundleSize > end ? 'ABU_ERR_BUNDLE_TRAILING' : 'ABU_ERR_BUNDLE_TRUNCATED';
    throw new AbuError(code, `the bundle is ${w.bundleSize} bytes but its last payload ends at ${end}`, { details: { size: w.bundleSize, end } });
  }
}

/**
 * Scans the slots (keeping the target's chunks, copying the booted slot's same-position ones), then copies chunks
 * found at other positions of the booted slot (each read, checked against its signed CRC32 and SHA-256 in a worker,
 * then written); returns the chunks left to fetch and the ones the target already held (verified, not written).
 */
async function keepAndCopy(w: AdaptiveWrite, k: number, counts: ChunkCounts): Promise<{ fetch: number[]; held: boolean[] }> {
  const entry = w.plan.images[k].entry;
  const target = w.targets[k];
  const booted = w.booted[k];
  w.meter.phase('indexing', entry.name);
  const scan = await scanSlots(entry, target, booted, w.pool, w.signal, w.resumed[k]);
  w.onHeld(k, scan.targetHolds);
  const written: number[] = [];
  scan.targetHolds.forEach((held, i) => {
    if (held) counts.skipped += chunkLength(entry, i);
    if (scan.copiedInPlace[i]) written.push(i);
    if (held || scan.copiedInPlace[i]) w.meter.add(chunkLength(entry, i), 'indexing', entry.name);
  });
  const settled = scan.targetHolds.map((held, i) => held || scan.copiedInPlace[i]);
  const actions = planChunks(entry, { targetHolds: settled, booted: scan.booted });
  const copies = actions.flatMap((a, i) => (a.kind === 'copy' ? [{ i, from: a.from }] : []));
  const fetch = actions.flatMap((a, i) => (a.kind === 'fetch' ? [i] : []));
  await eachWithBuffer(copies.length, w.pool.count - 1, w.pool, w.signal, async (n, buf) => {
    const { i, from } = copies[n];
    if (booted && (await copyFrom(entry, i, from, booted, target, buf))) {
      written.push(i);
      w.meter.add(chunkLength(entry, i), 'writing', entry.name);
    } else fetch.push(i);
  });
  for (const i of written) counts.copied += chunkLength(entry, i);
  fetch.sort((a, b) => a - b);
  const kept = scan.targetHolds.filter(Boolean).length;
  w.log(`image "${entry.name}": ${kept} of ${actions.length} chunks already in slot ${target.target.slot}, ${written.length} copied from slot ${booted?.target.slot ?? '-'}, ${fetch.length} to fetch`);
  return { fetch, held: scan.targetHolds };
}

/** True when one of the booted-slot candidates held chunk i (verified, then written); false: it must be fetched. */
async function copyFrom(entry: ImageEntry, i: number, from: number[], booted: SlotHandle, target: SlotHandle, buf: Buffer): Promise<boolean> {
  const view = buf.subarray(0, chunkLength(entry, i));
  for (const offset of from) {
    if ((await readAt(booted, view, offset)) === view.length && (await verifiedWrite(entry, i, view, target))) return true;
  }
  return false;
}

/** Fetches the chunks the appliance lacks (verified, then written), syncs, and reads back what this run wrote (CRC32 per chunk). */
async function fetchAndCheck(w: AdaptiveWrite, k: number, chunks: AsyncIterable<BundleChunk>, counts: ChunkCounts, held: boolean[]): Promise<void> {
  const entry = w.plan.images[k].entry;
  const target = w.targets[k];
  w.meter.phase('writing', entry.name);
  const only = readBackChunks(entry, target, held);
  // The full install's own tail: the writes, the sync, and the read-back by CRC32 (of the chunks written, or all).
  await writeImage(entry, counted(chunks, counts), target, { pool: w.pool, meter: w.meter, readBack: w.readBack, readBackChunks: only, signal: w.signal });
  if (!w.readBack) return;
  const n = held.length;
  if (only) w.log(`image "${entry.name}": read back ${only.length} of ${n} chunks by CRC32; ${n - only.length} kept chunks verified in place by SHA-256`);
  else w.log(`image "${entry.name}": read back all ${n} chunks by CRC32 (slot ${target.target.slot} is not open with O_DIRECT: its scan may have read the page cache)`);
}

/**
 * The chunks to fetch, from coalesced Range requests over their stored extents, each in a pool buffer the writer
 * gives back. An uncompressed chunk's bytes land straight in that buffer; a zstd chunk's stored bytes gather in one
 * scratch buffer and are decompressed (transport CRC32 first) into it before it is yielded, so the writer still
 * checks the signed CRC32 and SHA-256 of the uncompressed bytes.
 */
async function* rangeChunks(entry: ImageEntry, fetch: number[], extents: ChunkExtent[], ranges: RangeReader, pool: BufferPool): AsyncGenerator<BundleChunk> {
  const compressed = entry.compression === 'zstd';
  const scratch = compressed ? Buffer.allocUnsafe(zstdCompressBound(entry.chunkSize)) : null;
  for (const run of fetchRuns(fetch, extents)) {
    let k = 0;
    let buf: Buffer | null = null;
    let filled = 0;
    for await (const piece of rangeOf(ranges, run.offset, run.length)) {
      for (let at = 0; at < piece.length;) {
        const i = run.chunks[k];
        buf ??= scratch ? scratch.subarray(0, extents[i].length) : pool.take(chunkLength(entry, i));
        const n = piece.copy(buf, filled, at, at + Math.min(piece.length - at, buf.length - filled));
        at += n;
        filled += n;
        if (filled < buf.length) continue;
        const data = scratch ? await decompressed(entry, i, buf, pool) : buf;
        yield { image: entry, index: i, offset: i * entry.chunkSize, data, crc32: entry.chunkCrc32[i], sha256: entry.chunkSha256[i] };
        buf = null;
        filled = 0;
        k++;
      }
    }
  }
}

/** Chunk i's uncompressed bytes in a pool buffer (given back here when the stored bytes are refused). */
async function decompressed(entry: ImageEntry, i: number, stored: Buffer, pool: BufferPool): Promise<Buffer> {
  const target = pool.take(chunkLength(entry, i));
  try {
    await decompressChunk(entry, i, stored, target);
    return target;
  } catch (e) {
    pool.give(target);
    throw e;
  }
}

/** After the first Range answer a 200 means the bundle changed on the server: never mix two bundles. */
async function* rangeOf(ranges: RangeReader, offset: number, length: number): AsyncGenerator<Buffer> {
  try {
    yield* ranges.range(offset, length);
  } catch (e) {
    if (!(e instanceof RangeIgnoredError)) throw e;
    throw new AbuError('ABU_ERR_HTTP_SOURCE', `${e.message}: the bundle changed on the server during the install, or the server stopped honouring Range; install again`);
  }
}

async function* counted(chunks: AsyncIterable<BundleChunk>, counts: ChunkCounts): AsyncGenerator<BundleChunk> {
  for await (const c of chunks) {
    counts.fetched += c.data.length;
    yield c;
  }
}
