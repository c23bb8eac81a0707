// Kill-point cases on one appliance through the CLI (--direct): each brings a copy of the template to its starting
// state, runs the command that dies at the point, then restarts the simulated appliance and runs the next update.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { SimulatedBootloader } from '../../../engine/boot/simulated-bootloader';
import type { FaultPointName } from '../../../engine/core/fault-point';
import { createEngine, type AbuEngine } from '../../../engine/engine';
import { bootConfirm } from '../../../engine/install/boot-confirm';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { FileSource } from '../../../engine/sources/file-source';
import { runAbu, spawnAbu } from '../lock/appliance-procs';
import { expectKilledAt, faultEnv } from './fault-procs';
import { bootedNow, checkHistory, checkInvariants, runsConfirmed, type KnownImages } from './invariants';

export interface ApplianceCase {
  name: string;
  point: FaultPointName;
  count?: number;
  /** Brings the fresh copy where the killed command starts (run in this process: the setup is not under test). */
  setup?: (sim: SimAppliance) => Promise<void>;
  /** The command that dies, after `abu`. */
  args: (sim: SimAppliance) => string[];
  /** Rollbacks that really happen in the case (history must show exactly these). */
  rollbacks?: number;
  /** Another entry point to a point CI already kills: only in the whole campaign (scripts/kill-campaign). */
  full?: true;
}

const install = (activate: boolean) => (sim: SimAppliance) => ['install', '--direct', ...(activate ? [] : ['--no-activate']), sim.bundles[0]];

export const APPLIANCE_CASES: ApplianceCase[] = [
  { name: 'install killed after opening its target', point: 'install.after-open', args: install(true) },
  { name: 'install killed after marking the target bad', point: 'install.after-mark-bad', args: install(true) },
  { name: 'install killed after chunk 1', point: 'install.after-chunk', count: 1, args: install(true) },
  { name: 'install killed after its last write, before the sync', point: 'install.after-last-write', args: install(true) },
  { name: 'install over the fallback slot killed after chunk 1', point: 'install.after-chunk', count: 1, setup: runningNext, args: (sim) => ['install', '--direct', '--accept-irreversible', sim.bundles[1]] },
  { name: 'install killed after the sync', point: 'install.after-sync', args: install(true) },
  { name: 'install killed during read-back', point: 'install.during-read-back', count: 1, args: install(true) },
  { name: 'install killed after recording the release verified', point: 'install.after-record', args: install(true) },
  { name: 'install killed before the flag flip', point: 'activate.before-flag-flip', args: install(true) },
  { name: 'install killed after the flag flip', point: 'activate.after-flag-flip', args: install(true) },
  { name: 'install killed after chunk 2 (the last)', point: 'install.after-chunk', count: 2, args: install(true), full: true },
  { name: 'install killed during read-back, buffer 2', point: 'install.during-read-back', count: 2, args: install(true), full: true },
  { name: 'install --no-activate killed after recording the release', point: 'install.after-record', args: install(false), full: true },
  { name: 'activate other killed before the flag flip', point: 'activate.before-flag-flip', setup: installed(false), args: () => ['activate', 'other', '--direct'], full: true },
  { name: 'activate other killed after the flag flip', point: 'activate.after-flag-flip', setup: installed(false), args: () => ['activate', 'other', '--direct'], full: true },
  { name: 'boot-check killed after the health checks', point: 'boot-check.after-health-checks', setup: bootedOnTrial, args: () => ['boot-check'] },
  { name: 'boot-check killed after marking good', point: 'mark-good.after-flags', setup: bootedOnTrial, args: () => ['boot-check'], full: true },
  { name: 'mark-good killed after the flags', point: 'mark-good.after-flags', setup: bootedOnTrial, args: () => ['mark-good', '--direct'] },
  { name: 'mark-bad killed after the flags', point: 'mark-bad.after-flags', setup: installed(false), args: () => ['mark-bad', 'B', '--direct'] },
  { name: 'reboot killed in its boot-check', point: 'boot-check.after-health-checks', setup: installed(true), args: () => ['reboot', '--direct'], full: true },
  { name: 'reboot killed as its boot-check marks good', point: 'mark-good.after-flags', setup: installed(true), args: () => ['reboot', '--direct'], full: true },
  { name: 'boot-check killed recording a rollback', point: 'boot-check.rollback-after-flags', setup: fellBack, args: () => ['boot-check'], rollbacks: 1 },
];

/** Kill, check, restart the simulated appliance (CLI), check again, then the next update must go through. */
export async function runApplianceCase(c: ApplianceCase, sim: SimAppliance, images: KnownImages): Promise<string[]> {
  await c.setup?.(sim);
  const before = await bootedNow(sim);
  const installsBefore = await installEntries(sim);
  const p = spawnAbu([...c.args(sim), '--config', sim.configPath], { env: faultEnv(c.point, c.count) });
  await expectKilledAt(p, c.point);
  const v = (await checkInvariants(sim, images, before)).map((x) => `after the kill: ${x}`);
  const restart = await runAbu(['reboot', '--direct', '--config', sim.configPath]);
  assert.equal(restart.code, 0, `abu reboot after the kill: ${restart.stderr}`);
  v.push(...(await checkInvariants(sim, images, await bootedNow(sim))).map((x) => `after the restart: ${x}`));
  v.push(...(await checkHistory(sim, { interrupted: true, rollbacks: c.rollbacks })).map((x) => `after the restart: ${x}`));
  // History names an install only once its release was recorded verified, which the killed command reached or not.
  const recorded = c.args(sim)[0] === 'install' && RECORDED.has(c.point) ? 1 : 0;
  const installs = (await installEntries(sim)) - installsBefore;
  if (installs !== recorded) v.push(`after the restart: history gained ${installs} install entries, expected ${recorded}`);
  v.push(...(await nextUpdate(sim)).map((x) => `next update: ${x}`));
  return v;
}

/** Points an install reaches only after recording its release verified. */
const RECORDED = new Set<FaultPointName>(['install.after-record', 'activate.before-flag-flip', 'activate.after-flag-flip']);

async function installEntries(sim: SimAppliance): Promise<number> {
  return withEngine(sim, async (e) => (await e.history(500)).filter((h) => h.kind === 'install').length);
}

/** The next release in the chain, installed, activated and booted: it must end confirmed. */
export async function nextUpdate(sim: SimAppliance): Promise<string[]> {
  return withEngine(sim, async (engine) => {
    const running = (await engine.status()).slots.find((s) => s.booted)!.version;
    const next = running === '1.0.0' ? '1.1.0' : '1.2.0';
    const bundle = sim.bundles.find((b) => b.endsWith(`-${next}.abu`))!;
    await engine.install(new FileSource(bundle), { reboot: true, acceptIrreversible: true });
    const status = await engine.status();
    return runsConfirmed(status, next) ? [] : [`after installing ${next} and restarting, status is ${JSON.stringify(status.slots)}`];
  });
}

export async function withEngine<T>(sim: SimAppliance, fn: (e: AbuEngine) => Promise<T>): Promise<T> {
  const engine = await createEngine(sim.configPath);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

/** 1.1.0 written and verified into B (activated or not). */
function installed(activate: boolean): (sim: SimAppliance) => Promise<void> {
  return (sim) => withEngine(sim, async (e) => void (await e.install(new FileSource(sim.bundles[0]), { activate })));
}

/** 1.1.0 installed, booted and confirmed in B; A keeps 1.0.0 as the good fallback. */
async function runningNext(sim: SimAppliance): Promise<void> {
  await withEngine(sim, async (e) => void (await e.install(new FileSource(sim.bundles[0]), { reboot: true })));
}

/** What the firmware does at power-on: pick a slot by the scheme's rules, then tell the kernel which one. */
async function firmwareBoot(e: AbuEngine, sim: SimAppliance): Promise<void> {
  const { slot } = await new SimulatedBootloader(e.parts.boot).boot();
  await fs.writeFile(path.join(sim.dir, 'cmdline'), `console=ttyS0 abu.slot=${slot}\n`);
}

/** 1.1.0 activated and booted on trial in B; its boot-check has not run. */
async function bootedOnTrial(sim: SimAppliance): Promise<void> {
  await installed(true)(sim);
  await withEngine(sim, (e) => firmwareBoot(e, sim));
}

/** The broken 1.1.0 activated, booted, rejected by its health check; the firmware fell back to A; boot-check not run. */
async function fellBack(sim: SimAppliance): Promise<void> {
  await withEngine(sim, async (e) => {
    await e.install(new FileSource(sim.brokenBundle), { activate: true });
    await firmwareBoot(e, sim);
    const r = await bootConfirm({ ...e.parts, healthChecks: e.parts.config.healthChecks }, 'B');
    assert.equal(r.outcome, 'marked-bad');
    await firmwareBoot(e, sim);
  });
}
