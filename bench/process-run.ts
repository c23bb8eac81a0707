// Runs a command as its own process the way a user does and reads its wall time, CPU time and peak RSS (GNU time).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ProcessRun {
  seconds: number;
  cpuSeconds: number;
  maxRssKiB: number;
}

const TIME = '/usr/bin/time';

/** The checkout whose bin/abu is measured: this one, or ABU_BENCH_ROOT (to measure another build with the same harness). */
export function benchRoot(): string {
  return process.env.ABU_BENCH_ROOT ?? path.resolve(__dirname, '../..');
}

/** Wall time from spawn to exit, so start-up (module loading) counts as it does for a user. */
export function runMeasured(command: string, args: readonly string[], what: string): ProcessRun {
  const out = path.join(os.tmpdir(), `abu-bench-time-${process.pid}.txt`);
  try {
    const started = process.hrtime.bigint();
    const r = spawnSync(TIME, ['-o', out, '-f', '%e %U %S %M', command, ...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.error) throw new Error(`${TIME} (GNU time) is needed to measure peak RSS: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${what} failed in the benchmark (exit ${r.status}): ${r.stderr}`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9; // GNU time's own wall clock has 10 ms steps
    const [, user, sys, rss] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { seconds, cpuSeconds: user + sys, maxRssKiB: rss };
  } finally {
    rmSync(out, { force: true });
  }
}

/** Wall seconds of a command run to completion (the dd and curl baselines). */
export function timeCommand(command: string, args: readonly string[]): number {
  const t = process.hrtime.bigint();
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** What the machine was doing: the figures of a shared machine mean little without it. */
export function machineLine(): string {
  return `cpu: ${os.cpus()[0]?.model} x${os.cpus().length}; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the machine inflates the ratios)`;
}
