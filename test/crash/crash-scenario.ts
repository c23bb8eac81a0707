// Runs the campaign's operations on a live appliance through the recording seams: install, activate, boot-check,
// mark-good, install+activate, and a broken release rolled back; each with the files as they were before it (the
// base its crash states start from).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createBootFlagBackend } from '../../engine/boot/registry';
import { SimulatedBootloader } from '../../engine/boot/simulated-bootloader';
import { loadConfig } from '../../engine/config';
import { AbuEngine } from '../../engine/engine';
import type { SlotName } from '../../engine/core/slot';
import { DeviceSlotStore } from '../../engine/slots/device-slot-store';
import { FileSource } from '../../engine/sources/file-source';
import { ApplianceLock } from '../../engine/state/appliance-lock';
import type { CrashAppliance } from './crash-appliance';
import { RecordingSlotStore, RecordingStateStore, recordingEnvOpener } from './recording-seams';
import { WriteLog, type LoggedOp } from './write-log';

/** The appliance's files before an operation, by path relative to its folder (null: the file did not exist). */
export type Snapshot = Map<string, Buffer | null>;

export interface RecordedOperation {
  name: string;
  /** The slot running while the operation ran (what the power cut interrupts). */
  booted: SlotName;
  base: Snapshot;
  ops: LoggedOp[];
}

interface Step {
  name: string;
  /** Power the appliance on first (the bootloader's own write is not the engine's, so it is not recorded). */
  bootFirst?: boolean;
  run: (engine: AbuEngine, app: CrashAppliance) => Promise<unknown>;
}

export const STEPS: readonly Step[] = [
  { name: 'install', run: (e, a) => e.install(new FileSource(a.bundles['1.1.0']), { activate: false }) },
  { name: 'activate', run: (e) => e.activate('other') },
  { name: 'boot-check', bootFirst: true, run: (e) => e.bootCheck() },
  { name: 'mark-good', run: (e) => e.markGood() },
  { name: 'install+activate', run: (e, a) => e.install(new FileSource(a.bundles['1.2.0']), { activate: true }) },
  { name: 'boot-check 1.2.0', bootFirst: true, run: (e) => e.bootCheck() },
  { name: 'install+activate broken', run: (e, a) => e.install(new FileSource(a.bundles['1.3.0']), { activate: true }) },
  // Health check fails on B: mark bad, simulated restart into A, which records the rollback (all recorded).
  { name: 'boot-check rollback', bootFirst: true, run: (e) => e.bootCheck() },
];

/** Files a crash can change or a crash check reads: the disk image, the env files, the state file, the cmdline. */
export function trackedFiles(app: CrashAppliance): string[] {
  return [app.diskImage, ...app.envFiles, path.join(app.dir, 'state', 'state.json'), path.join(app.dir, 'cmdline')].map((f) => path.relative(app.dir, f));
}

export async function snapshot(app: CrashAppliance): Promise<Snapshot> {
  const snap: Snapshot = new Map();
  for (const rel of trackedFiles(app)) snap.set(rel, await fs.readFile(path.join(app.dir, rel)).catch(() => null));
  return snap;
}

/** An engine whose slot, boot-flag and state writes all go through `log`. */
export async function recordingEngine(app: CrashAppliance, log: WriteLog): Promise<AbuEngine> {
  const config = await loadConfig(app.configPath);
  return new AbuEngine({
    config,
    slots: new RecordingSlotStore(new DeviceSlotStore(config.slots), log),
    boot: createBootFlagBackend(config.bootloader, recordingEnvOpener(log)),
    state: new RecordingStateStore(config.stateDir, log),
    lock: new ApplianceLock(config.stateDir, 'crash-campaign'),
  });
}

export async function bootedOf(app: CrashAppliance): Promise<SlotName> {
  const m = /abu\.slot=(\S+)/.exec(await fs.readFile(path.join(app.dir, 'cmdline'), 'utf8'));
  return m![1];
}

/** Runs every step on the live appliance, recording each; `log` may be a fault-injected variant. */
export async function recordScenario(app: CrashAppliance, log = new WriteLog()): Promise<RecordedOperation[]> {
  const engine = await recordingEngine(app, log);
  const out: RecordedOperation[] = [];
  for (const step of STEPS) {
    if (step.bootFirst) {
      const { slot } = await new SimulatedBootloader(engine.parts.boot).boot();
      await fs.writeFile(path.join(app.dir, 'cmdline'), `console=ttyS0 abu.slot=${slot}\n`);
    }
    const base = await snapshot(app);
    const booted = await bootedOf(app);
    log.clear();
    await step.run(engine, app);
    out.push({ name: step.name, booted, base, ops: log.ops.slice() });
  }
  return out;
}
