// Runs the JavaScript fuzz targets for a time budget each: fast-check drives inputs, V8 block coverage is reported.
//   node dist/fuzz/js/run.js [--seconds N] [--seed S] [target...]   one JSON line per target on stdout
// Each target's seed goes to stderr first: an input that kills the process (a native abort) saves nothing, but
// the same seed replays the same inputs up to it.
// A failing input is shrunk by fast-check and saved to build/fuzz/js-crashes/<target>/ (copy it into
// fuzz/corpus/<target>/ once fixed, so the replay test keeps it).
import { createHash } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { inputs, type FuzzTarget } from './property';
import { addonCodecsTarget } from './targets-addon';
import { bundleTarget, manifestTarget } from './targets-bundle';
import { fwEnvConfigTarget, httpInputTarget, serialConsoleTarget } from './targets-text';

export const TARGETS: FuzzTarget[] = [bundleTarget, manifestTarget, fwEnvConfigTarget, serialConsoleTarget, httpInputTarget, addonCodecsTarget];
export const REPO = path.resolve(__dirname, '..', '..', '..');

export interface FuzzResult {
  target: string;
  executions: number;
  seconds: number;
  failures: number;
  failure?: string;
  crasher?: string;
  /** Blocks of the target's own files that ran at least once, of all their blocks (V8 precise coverage). */
  coverage?: string;
}

export function seeds(target: string): Buffer[] {
  const dir = path.join(REPO, 'fuzz', 'corpus', target);
  try {
    return readdirSync(dir).sort().map((f) => readFileSync(path.join(dir, f)));
  } catch {
    return [];
  }
}

export async function fuzzTarget(target: FuzzTarget, seconds: number, seed?: number): Promise<FuzzResult> {
  let executions = 0;
  const started = process.hrtime.bigint();
  const property = fc.asyncProperty(inputs(seeds(target.name), target.tokens), async (input) => {
    executions++;
    await target.run(input);
  });
  const out = await fc.check(property, {
    numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false,
    // A run still pending after 10 s is a hang (an input the bundle reader waits on forever): a failure, shrunk and saved.
    timeout: 10_000,
    ...(seed === undefined ? {} : { seed }),
  });
  const result: FuzzResult = {
    target: target.name, executions, seconds: Number(process.hrtime.bigint() - started) / 1e9, failures: out.failed ? 1 : 0,
  };
  if (out.failed && out.counterexample) {
    const bytes = out.counterexample[0] as Buffer;
    const dir = path.join(REPO, 'build', 'fuzz', 'js-crashes', target.name);
    await fs.mkdir(dir, { recursive: true });
    result.crasher = path.join(dir, `crash-${createHash('sha1').update(bytes).digest('hex')}`);
    await fs.writeFile(result.crasher, bytes);
    result.failure = String((out.errorInstance as Error | undefined)?.message ?? out.errorInstance).slice(0, 300);
  }
  return result;
}

/** Fraction of V8 blocks in `files` with a non-zero count. */
function blockCoverage(result: { result: Array<{ url: string; functions: Array<{ ranges: Array<{ count: number }> }> }> }, files: string[]): string {
  let hit = 0, total = 0;
  for (const script of result.result) {
    if (!files.some((f) => script.url === `file://${f}`)) continue;
    for (const fn of script.functions) for (const r of fn.ranges) { total++; if (r.count > 0) hit++; }
  }
  return `${hit}/${total} blocks`;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const i = args.indexOf('--seconds');
  const seconds = i >= 0 ? Number(args.splice(i, 2)[1]) : 30;
  const j = args.indexOf('--seed');
  const fixedSeed = j >= 0 ? Number(args.splice(j, 2)[1]) : undefined;
  const chosen = args.length ? TARGETS.filter((t) => args.includes(t.name)) : TARGETS;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  let failed = false;
  for (const target of chosen) {
    const seed = fixedSeed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
    process.stderr.write(`js/${target.name}: seed ${seed}\n`);
    const r = await fuzzTarget(target, seconds, seed);
    r.coverage = blockCoverage(await session.post('Profiler.takePreciseCoverage') as never, target.files);
    failed ||= r.failures > 0;
    process.stdout.write(`${JSON.stringify(r)}\n`);
  }
  process.exitCode = failed ? 1 : 0;
}

if (require.main === module) void main();
