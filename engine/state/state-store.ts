// abu's own persisted state (releases per slot, floor, pending activation, history), written atomically.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AbuError } from '../core/errors';
import type { SlotName, SlotRelease } from '../core/slot';
import type { HistoryEntry } from '../facade';
import { writeFileAtomic, type StepHook } from './atomic-file';

export interface SlotRecord extends SlotRelease {
  /** True only once the image was written and its whole digest verified. */
  verified: boolean;
}

/** An activation waiting for boot-check to confirm it, so a fallback can be recognised as a rollback. */
export interface PendingActivation {
  slot: SlotName;
  from: SlotName;
  version: string;
  time: string;
  /** False until the boot-flag write returned: a cut before it means the switch never reached the bootloader. */
  flagsWritten?: boolean;
  /** Set when boot-check rejected the slot (failed health check): the reason the fallback will report. */
  rejected?: string;
}

export interface PersistedState {
  format: 1;
  slots: Record<SlotName, SlotRecord | null>;
  floor: string | null;
  pending: PendingActivation | null;
  /** `past` once a later operation succeeded. */
  lastError: { code: string; message: string; time: string; past?: boolean } | null;
  history: HistoryEntry[];
}

const HISTORY_LIMIT = 500;

export class StateStore {
  private readonly file: string;

  /** @param faults a test's fault injection for the atomic replace (atomic-file.ts); never set in production. */
  constructor(stateDir: string, private readonly faults?: StepHook) {
    this.file = path.join(stateDir, 'state.json');
  }

  async load(): Promise<PersistedState> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw new AbuError('ABU_ERR_STATE_CORRUPT', `cannot read ${this.file}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const parsed = JSON.parse(text) as PersistedState;
      if (parsed.format !== 1) throw new Error(`unknown format ${String(parsed.format)}`);
      return parsed;
    } catch (e) {
      throw new AbuError('ABU_ERR_STATE_CORRUPT', `${this.file} is corrupt (${(e as Error).message}); move it aside to start over`, { cause: e });
    }
  }

  async save(state: PersistedState): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    state.history = state.history.slice(-HISTORY_LIMIT);
    await writeFileAtomic(this.file, JSON.stringify(state, null, 2) + '\n', 0o644, this.faults);
  }

  /** Load, change, save: the one way state is modified. */
  async update(change: (s: PersistedState) => void): Promise<PersistedState> {
    const state = await this.load();
    change(state);
    await this.save(state);
    return state;
  }
}

export function emptyState(): PersistedState {
  return { format: 1, slots: {}, floor: null, pending: null, lastError: null, history: [] };
}

export function historyEntry(kind: HistoryEntry['kind'], slot: SlotName, message: string, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return { time: new Date().toISOString(), kind, slot, message, ...extra };
}
