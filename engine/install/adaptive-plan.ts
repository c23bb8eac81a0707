// Adaptive install plan (pure): per chunk of the new image, skip it, copy it from the booted slot, or fetch it.
import type { ChunkExtent } from '../bundle/chunk-layout';
import type { ImageEntry } from '../bundle/manifest';


export type ChunkAction =
  | { kind: 'skip' } // the target already holds it (CRC32 and SHA-256 checked on bytes read from it in this run)
  | { kind: 'copy'; from: number[] } // booted-slot offsets whose CRC32 matches, best first; SHA-256 is checked before writing
  | { kind: 'fetch' }; // from the bundle source

/** What the appliance holds, indexed before the install writes anything. */
export interface LocalIndex {
  /** Per chunk of the new image: the target slot already holds exactly it. */
  targetHolds: boolean[];
  /** CRC32 of booted-slot pieces -> their offsets and lengths (candidates only, never trusted without SHA-256). */
  booted: Map<number, { offset: number; length: number }[]>;
}

/** Image bytes fetched from the bundle, copied from the booted slot, skipped (the target held them). */
export type { TransferCounts as ChunkCounts } from '../core/progress';

export function planChunks(entry: ImageEntry, index: LocalIndex): ChunkAction[] {
  return entry.chunkCrc32.map((crc, i): ChunkAction => {
    if (index.targetHolds[i]) return { kind: 'skip' };
    const offset = i * entry.chunkSize;
    const length = Math.min(entry.chunkSize, entry.size - offset);
    const candidates = (index.booted.get(crc >>> 0) ?? []).filter((c) => c.length === length).map((c) => c.offset);
    // The same position first: an unchanged chunk of the running image is the likeliest match.
    candidates.sort((a, b) => Number(b === offset) - Number(a === offset));
    return candidates.length > 0 ? { kind: 'copy', from: candidates } : { kind: 'fetch' };
  });
}

/** A byte range of the bundle file covering consecutive chunks fetched in one request. */
export interface FetchRun {
  offset: number;
  length: number;
  chunks: number[];
}

/**
 * Coalesces the chunks to fetch into runs: chunks whose bundle extents touch are one request, up to
 * `maxRunBytes` (so a retry after a dropped connection never re-asks for more than that).
 */
export function fetchRuns(chunks: number[], extents: ChunkExtent[], maxRunBytes = 64 * 1024 * 1024): FetchRun[] {
  const runs: FetchRun[] = [];
  for (const i of [...chunks].sort((a, b) => a - b)) {
    const e = extents[i];
    const last = runs[runs.length - 1];
    if (last && last.offset + last.length === e.offset && last.length + e.length <= maxRunBytes) {
      last.length += e.length;
      last.chunks.push(i);
    } else runs.push({ offset: e.offset, length: e.length, chunks: [i] });
  }
  return runs;
}

export function chunkLength(entry: ImageEntry, i: number): number {
  return Math.min(entry.chunkSize, entry.size - i * entry.chunkSize);
}
