// Every crash state of a recorded operation: each prefix of the op sequence, and subsets of the writes not yet flushed.
import { rng } from '../integration/boot/tools';
import { sha256, unitKey, type LoggedOp } from './write-log';

/** How many subsets of the unflushed writes are tried at one crash point. */
export interface CrashBound {
  /** Up to this many unflushed units: every subset (2^n). */
  allSubsetsUpTo: number;
  /** More than that: every subset that keeps or loses at most `k` of them ... */
  k: number;
  /** ... plus this many random subsets drawn with `seed` (xorshift32, so a run repeats exactly). */
  samples: number;
  seed: number;
}

export const DEFAULT_BOUND: CrashBound = { allSubsetsUpTo: 8, k: 2, samples: 32, seed: 0xab5eed };

export interface CrashState {
  /** Ops issued before the power cut (ops[0..point)). */
  point: number;
  /** Indices of the write/rename units that reached the medium, in issue order. */
  persisted: number[];
  /** The bytes the state leaves, as a key: equal keys are the same crash state. */
  key: string;
}

/** Units issued before `point` that a flush of their file (or folder, for a rename) made durable before `point`. */
function split(ops: readonly LoggedOp[], point: number): { durable: number[]; pending: number[] } {
  const durable: number[] = [];
  const pending: number[] = [];
  for (let i = 0; i < point; i++) {
    const op = ops[i];
    if (op.kind === 'flush') continue;
    const flushedBy = op.kind === 'write' ? op.file : op.dir;
    let flushed = false;
    for (let j = i + 1; j < point && !flushed; j++) flushed = ops[j].kind === 'flush' && (ops[j] as { file: string }).file === flushedBy;
    (flushed ? durable : pending).push(i);
  }
  return { durable, pending };
}

/** Subsets of `pending` (as index lists) within the bound, the full set (the prefix state) always first. */
export function boundedSubsets(pending: readonly number[], bound: CrashBound): number[][] {
  const n = pending.length;
  const pick = (mask: (i: number) => boolean) => pending.filter((_, i) => mask(i));
  if (n <= bound.allSubsetsUpTo) {
    const out: number[][] = [];
    for (let m = (1 << n) - 1; m >= 0; m--) out.push(pick((i) => ((m >> i) & 1) === 1));
    return out;
  }
  const out: number[][] = [pending.slice()];
  for (const chosen of combinations(n, bound.k)) {
    out.push(pick((i) => chosen.includes(i))); // keeps at most k
    out.push(pick((i) => !chosen.includes(i))); // loses at most k
  }
  const rand = rng(bound.seed ^ n);
  for (let s = 0; s < bound.samples; s++) out.push(pick(() => rand(2) === 1));
  return out;
}

/** Every index set of size 0..k out of n. */
function combinations(n: number, k: number): number[][] {
  const out: number[][] = [[]];
  const grow = (prefix: number[], from: number) => {
    if (prefix.length === k) return;
    for (let i = from; i < n; i++) {
      out.push([...prefix, i]);
      grow([...prefix, i], i + 1);
    }
  };
  grow([], 0);
  return out;
}

/** What a set of persisted units leaves: per location, the last persisted unit's bytes. */
export function stateKey(ops: readonly LoggedOp[], persisted: readonly number[], digests: readonly string[]): string {
  const last = new Map<string, string>();
  for (const i of persisted) last.set(unitKey(ops[i]), digests[i]);
  return [...last.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, d]) => `${k}=${d}`).join('\n');
}

/** The distinct crash states of one recorded operation within `bound`. */
export function crashStates(ops: readonly LoggedOp[], bound: CrashBound = DEFAULT_BOUND): CrashState[] {
  const digests = ops.map((op) => (op.kind === 'flush' ? '' : sha256(op.bytes)));
  const seen = new Set<string>();
  const out: CrashState[] = [];
  for (let point = 0; point <= ops.length; point++) {
    const { durable, pending } = split(ops, point);
    for (const subset of boundedSubsets(pending, bound)) {
      const persisted = [...durable, ...subset].sort((a, b) => a - b);
      const key = stateKey(ops, persisted, digests);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ point, persisted, key });
    }
  }
  return out;
}
