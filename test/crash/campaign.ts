// The crash campaign for one backend: record the scenario, build every crash state within the bound, check each.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCrashAppliance, type CrashBackend } from './crash-appliance';
import { CrashBench } from './crash-bench';
import { checkCrashState } from './crash-check';
import { recordScenario, type RecordedOperation } from './crash-scenario';
import { crashStates, DEFAULT_BOUND, type CrashBound, type CrashState } from './crash-states';
import { WriteLog } from './write-log';

export interface CampaignOptions {
  bound?: CrashBound;
  /** Check at most this many states, spread evenly over every operation's list (the CI sample); default all. */
  limit?: number;
  /** Fault-injected engine variant: slot fdatasync calls are not issued (the self-test). */
  dropSlotFlush?: boolean;
  /** Stop after this many violations (the self-test needs one). */
  stopAfter?: number;
}

export interface Violation {
  operation: string;
  point: number;
  persisted: number;
  messages: string[];
}

export interface CampaignResult {
  backend: string;
  operations: number;
  writes: number;
  flushes: number;
  states: number;
  checked: number;
  violations: Violation[];
  seconds: number;
}

export async function runCampaign(kind: CrashBackend, o: CampaignOptions = {}): Promise<CampaignResult> {
  const started = Date.now();
  const root = await fs.mkdtemp(path.join(await scratchDir(), `abu-crash-${kind}-`));
  try {
    const app = await createCrashAppliance(path.join(root, 'live'), kind);
    const bench = await CrashBench.create(app, path.join(root, 'bench'));
    const log = new WriteLog();
    log.dropSlotFlush = o.dropSlotFlush ?? false;
    const recorded = await recordScenario(app, log);
    const perOp = recorded.map((rec) => ({ rec, states: crashStates(rec.ops, o.bound ?? DEFAULT_BOUND) }));
    const total = perOp.reduce((n, p) => n + p.states.length, 0);
    const violations: Violation[] = [];
    let checked = 0;
    for (const { rec, states } of perOp) {
      for (const state of spread(states, o.limit === undefined ? states.length : Math.ceil((o.limit * states.length) / total))) {
        checked++;
        const messages = await checkCrashState(bench, rec, state);
        if (messages.length) violations.push({ operation: rec.name, point: state.point, persisted: state.persisted.length, messages });
        if (o.stopAfter !== undefined && violations.length >= o.stopAfter) return result(kind, recorded, total, checked, violations, started);
      }
    }
    return result(kind, recorded, total, checked, violations, started);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

/**
 * tmpfs when there is one: each crash check boots, confirms and records with fsync, which costs nothing there. What
 * the campaign models is the durability of each recorded write, so the bench's own fsyncs need not reach a disk.
 */
async function scratchDir(): Promise<string> {
  const shm = '/dev/shm';
  return (await fs.stat(shm).then((s) => s.isDirectory(), () => false)) ? shm : os.tmpdir();
}

/** `count` states evenly spaced over the list (first and last included), so a sample covers the whole operation. */
function spread(states: CrashState[], count: number): CrashState[] {
  if (count >= states.length) return states;
  if (count <= 1) return states.slice(0, count);
  return Array.from({ length: count }, (_, i) => states[Math.round((i * (states.length - 1)) / (count - 1))]);
}

function result(kind: string, recorded: RecordedOperation[], states: number, checked: number, violations: Violation[], started: number): CampaignResult {
  const count = (k: string) => recorded.reduce((n, r) => n + r.ops.filter((op) => op.kind === k).length, 0);
  return {
    backend: kind,
    operations: recorded.length,
    writes: count('write') + count('rename'),
    flushes: count('flush'),
    states,
    checked,
    violations,
    seconds: (Date.now() - started) / 1000,
  };
}

/** The summary table the campaign script prints. */
export function summaryTable(results: CampaignResult[]): string {
  const head = ['backend', 'operations', 'writes recorded', 'flushes', 'crash states', 'checked', 'violations', 'time (s)'];
  const rows = results.map((r) => [r.backend, r.operations, r.writes, r.flushes, r.states, r.checked, r.violations.length, r.seconds.toFixed(1)].map(String));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}
