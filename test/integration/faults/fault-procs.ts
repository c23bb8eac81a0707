// Test helper for the kill-point campaign: abu processes armed with ABU_FAULT, proof that a point killed one, the
// points seen so far, one simulated appliance template copied per case, and a bounded pool to run cases side by side.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { FaultPointName } from '../../../engine/core/fault-point';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import type { AbuProcess } from '../lock/appliance-procs';

const run = promisify(execFile);

/** The environment that arms one point; `count` picks its Nth hit (ABU_FAULT_COUNT). */
export function faultEnv(point: FaultPointName, count = 1): NodeJS.ProcessEnv {
  return { ABU_FAULT: point, ABU_FAULT_COUNT: String(count) };
}

/** Every kill observed in this run: point -> how many processes it ended. */
export const kills = new Map<FaultPointName, number>();

/**
 * Waits for `p` to end and asserts it was this point that killed it (SIGKILL, and the line the point writes
 * on stderr just before). A process that ended any other way means the point was never reached.
 */
export async function expectKilledAt(p: AbuProcess, point: FaultPointName, ms = 60_000): Promise<void> {
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  const e = await p.exit;
  clearTimeout(timer);
  assert.equal(p.child.signalCode, 'SIGKILL', `expected fault point ${point} to kill pid ${p.pid}; it exited with ${e.code}:\n${e.stderr}`);
  assert.match(e.stderr, new RegExp(`fault point ${point.replace(/\./g, '\\.')} \\(hit \\d+\\): killing pid ${p.pid}`), `pid ${p.pid} was killed, but not by ${point}:\n${e.stderr}`);
  kills.set(point, (kills.get(point) ?? 0) + 1);
}

/** A copy of the template appliance (its config uses relative paths, so a copy is a separate appliance). */
export async function copyAppliance(template: SimAppliance, dir: string): Promise<SimAppliance> {
  await run('cp', ['-a', '--sparse=always', template.dir, dir]);
  const moved = (p: string) => path.join(dir, path.relative(template.dir, p));
  return {
    ...template,
    dir,
    configPath: moved(template.configPath),
    keyringPath: moved(template.keyringPath),
    privateKeyPath: moved(template.privateKeyPath),
    diskImage: moved(template.diskImage),
    bundles: template.bundles.map(moved),
    brokenBundle: moved(template.brokenBundle),
    guide: template.guide.map((g) => ({ ...g, path: moved(g.path) })),
  };
}

/** Runs `jobs` at most `width` at a time; every job runs, and the failures come back named (none stops the others). */
export async function pool<T extends { name: string }>(items: T[], width: number, job: (item: T) => Promise<void>): Promise<{ name: string; error: Error }[]> {
  const failures: { name: string; error: Error }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await job(item).catch((error: Error) => failures.push({ name: item.name, error }));
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
  return failures;
}

export async function readJson(file: string): Promise<any> {
  return JSON.parse(await fs.readFile(file, 'utf8'));
}
