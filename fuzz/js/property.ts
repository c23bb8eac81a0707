// The property every JavaScript fuzz target checks, and the input generator: raw bytes, seed mutations, tokens.
import * as fc from 'fast-check';
import { AbuError, ERROR_CODES } from '../../engine/core/errors';

export interface FuzzTarget {
  name: string;
  /** Compiled files whose block coverage the runner reports (paths under dist/, as V8 sees them). */
  files: string[];
  /** Words of the input's language, spliced into seeds so text parsers meet their own syntax. */
  tokens?: string[];
  /** Parses one input. Returning or throwing an AbuError with a catalogued code is fine; anything else is a bug. */
  run(input: Buffer): void | Promise<void>;
}

/** Thrown (and saved as a crasher) when an input breaks the property. */
export class PropertyViolation extends Error {}

/** Accepts an AbuError with a catalogued code; anything else thrown is an untyped error and a violation. */
export function expectTyped(e: unknown, where: string): void {
  if (e instanceof AbuError && e.code in ERROR_CODES) return;
  const what = e instanceof Error ? `${e.constructor.name}: ${e.message}` : `non-error ${String(e)}`;
  throw new PropertyViolation(`${where}: untyped error ${what}`.slice(0, 500));
}

/** Runs `fn`, accepting a return or a typed error. */
export function typed(where: string, fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expectTyped(e, where);
  }
}

export async function typedAsync(where: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    expectTyped(e, where);
  }
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x3d, 0x23, 0x5c, 0x20];

type Edit = [number, number, number, Uint8Array];

// One libFuzzer-style mutation at a position: overwrite, insert, delete, truncate, bit flip, interesting byte, splice a token.
function applyEdit(b: Buffer, [pos, kind, n, bytes]: Edit, tokens: Buffer[]): Buffer {
  const at = b.length === 0 ? 0 : pos % (b.length + 1);
  switch (kind) {
    case 0: return Buffer.concat([b.subarray(0, at), bytes, b.subarray(at + bytes.length)]);
    case 1: return Buffer.concat([b.subarray(0, at), bytes, b.subarray(at)]);
    case 2: return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + (n % 64))]);
    case 3: return b.subarray(0, at);
    case 4: { const c = Buffer.from(b); if (at < c.length) c[at] ^= 1 << (n % 8); return c; }
    case 5: { const c = Buffer.from(b); if (at < c.length) c[at] = INTERESTING[n % INTERESTING.length]; return c; }
    default: return tokens.length ? Buffer.concat([b.subarray(0, at), tokens[n % tokens.length], b.subarray(at)]) : b;
  }
}

/** Inputs for a target: mostly mutated seeds (they reach deep), some raw bytes and token soups (they reach edges). */
export function inputs(seeds: Buffer[], tokenWords: string[] = []): fc.Arbitrary<Buffer> {
  const tokens = tokenWords.map((t) => Buffer.from(t, 'latin1'));
  const edit = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 6 }), fc.nat(), fc.uint8Array({ maxLength: 8 }));
  const arbitraries: Array<fc.WeightedArbitrary<Buffer>> = [
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((a) => Buffer.from(a)) },
  ];
  if (seeds.length) {
    const mutated = fc.tuple(fc.nat(seeds.length - 1), fc.array(edit, { minLength: 1, maxLength: 10 }))
      .map(([i, edits]) => edits.reduce((b, e) => applyEdit(b, e, tokens), seeds[i]));
    arbitraries.push({ weight: 6, arbitrary: mutated });
  }
  if (tokens.length) {
    arbitraries.push({ weight: 2, arbitrary: fc.array(fc.constantFrom(...tokens), { maxLength: 24 }).map((t) => Buffer.concat(t)) });
  }
  return fc.oneof(...arbitraries);
}
