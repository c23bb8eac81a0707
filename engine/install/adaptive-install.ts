// The installer's adaptive branch: opens the booted slot read-only beside the targets and runs the adaptive writer.
import type { Readable } from 'node:stream';
import { PROGRESS_SCHEMA, type EventSink, type TransferCounts } from '../core/progress';
import type { OpenedBundle } from '../bundle/bundle-reader';
import { rangeReaderOf } from '../sources/range-reader';
import type { SlotHandle, SlotStore } from '../slots/slot-store';
import { writeAdaptive } from './adaptive-writer';
import type { BufferPool } from './buffer-pool';
import type { InstallPlan } from './plan';
import type { ProgressMeter } from './progress-meter';

export interface AdaptiveInstallDeps {
  slots: SlotStore;
  events: EventSink;
}

export interface AdaptiveInstallRun {
  op: string;
  bundle: OpenedBundle;
  stream: Readable;
  bundleSize?: number;
  plan: InstallPlan;
  targets: SlotHandle[];
  readBack: boolean;
  /** See AdaptiveWrite.resumed and onHeld. */
  resumed: boolean[][];
  onHeld: (k: number, held: boolean[]) => void;
  pool: BufferPool;
  meter: ProgressMeter;
  signal?: AbortSignal;
}

export async function installAdaptive(deps: AdaptiveInstallDeps, run: AdaptiveInstallRun): Promise<TransferCounts> {
  const log = (level: 'info' | 'warn', message: string) => deps.events.log({ schema: PROGRESS_SCHEMA, op: run.op, level, message, time: new Date().toISOString() });
  const booted = await openBooted(deps.slots, run.plan, (m) => log('warn', m));
  try {
    const counts = await writeAdaptive({
      bundle: run.bundle, plan: run.plan, targets: run.targets, booted, ranges: rangeReaderOf(run.stream), bundleSize: run.bundleSize,
      readBack: run.readBack, resumed: run.resumed, onHeld: run.onHeld, pool: run.pool, meter: run.meter, signal: run.signal, log: (m) => log('info', m),
    });
    log('info', `adaptive install: ${mib(counts.fetched)} fetched, ${mib(counts.copied)} copied from slot ${run.plan.booted}, ${mib(counts.skipped)} already in slot ${run.plan.targetSlot}`);
    return counts;
  } finally {
    await Promise.allSettled(booted.map((h) => h?.close()));
  }
}

/**
 * The booted slot's target of each image's class, read-only (never written: the handle has no write descriptor).
 * A booted slot that cannot be opened only costs the copies: its chunks are fetched instead.
 */
async function openBooted(slots: SlotStore, plan: InstallPlan, warn: (m: string) => void): Promise<(SlotHandle | null)[]> {
  const handles: (SlotHandle | null)[] = [];
  for (const planned of plan.images) {
    const cls = planned.entry.slotClass;
    if (!slots.classes(plan.booted).includes(cls)) {
      handles.push(null);
      continue;
    }
    handles.push(await slots.resolve(plan.booted, cls).then((t) => slots.openForRead(t)).catch((e: Error) => {
      warn(`cannot read the booted slot ${plan.booted} (${cls}) to copy from it: ${e.message}; fetching its chunks instead`);
      return null;
    }));
  }
  return handles;
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}
