// The resume checkpoint: which chunks of which bundle an interrupted install had written, synced and verified.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SlotName } from '../core/slot';
import { writeFileAtomic } from '../state/atomic-file';

export const CHECKPOINT_SCHEMA = 'abu.checkpoint/1';

/** One image of the checkpointed install: where it goes and the runs of chunks known good there. */
export interface CheckpointImage {
  name: string;
  device: string;
  offset: number;
  chunkSize: number;
  chunks: number;
  /** Half-open runs [first, end) of chunk indices written (each checked by SHA-256 before its write) and synced. */
  done: [number, number][];
}

/**
 * `<stateDir>/checkpoint.json`. It names the bundle by the SHA-256 of its signed manifest, so an install of any
 * other bundle (or into another slot, device or offset) discards it; chunks it lists are trusted only after their
 * signed CRC32 reads back from the medium again.
 */
export interface InstallCheckpoint {
  schema: typeof CHECKPOINT_SCHEMA;
  manifestSha256: string;
  slot: SlotName;
  /** The bundle's version, for status. */
  version: string;
  images: CheckpointImage[];
  savedAt: string;
}

export class CheckpointFile {
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'checkpoint.json');
  }

  /** The saved checkpoint; null when there is none or it cannot be used (unreadable, another schema, malformed). */
  async load(): Promise<InstallCheckpoint | null> {
    const text = await fs.readFile(this.file, 'utf8').catch(() => null);
    if (text === null) return null;
    try {
      const cp = JSON.parse(text) as InstallCheckpoint;
      return isCheckpoint(cp) ? cp : null;
    } catch {
      return null;
    }
  }

  /** Atomic replace (temp, fsync, rename, folder fsync): a cut leaves the previous checkpoint or this one. */
  save(cp: InstallCheckpoint): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify(cp));
  }

  /** A stale file is harmless (another bundle never matches, and every listed chunk is re-read), so no fsync. */
  async clear(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}

function isCheckpoint(cp: InstallCheckpoint): boolean {
  const runOk = (r: unknown, n: number) => Array.isArray(r) && r.length === 2 && Number.isInteger(r[0]) && Number.isInteger(r[1]) && 0 <= r[0] && r[0] < r[1] && r[1] <= n;
  const imageOk = (i: CheckpointImage) =>
    typeof i?.name === 'string' && typeof i.device === 'string' && Number.isSafeInteger(i.offset) && Number.isSafeInteger(i.chunkSize) && Number.isSafeInteger(i.chunks) && Array.isArray(i.done) && i.done.every((r) => runOk(r, i.chunks));
  return cp?.schema === CHECKPOINT_SCHEMA && typeof cp.manifestSha256 === 'string' && typeof cp.slot === 'string' && typeof cp.version === 'string' && Array.isArray(cp.images) && cp.images.every(imageOk);
}

/** Half-open runs of the set flags: [true, true, false, true] -> [[0, 2], [3, 4]]. */
export function runsOf(flags: readonly boolean[]): [number, number][] {
  const runs: [number, number][] = [];
  flags.forEach((on, i) => {
    if (!on) return;
    const last = runs[runs.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else runs.push([i, i + 1]);
  });
  return runs;
}

/** The flags of `n` chunks set by the runs. */
export function flagsOf(runs: readonly [number, number][], n: number): boolean[] {
  const flags = new Array<boolean>(n).fill(false);
  for (const [first, end] of runs) for (let i = first; i < Math.min(end, n); i++) flags[i] = true;
  return flags;
}
