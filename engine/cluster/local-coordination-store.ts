// CoordinationStore in one local file (<stateDir>/cluster/coordination.json), replaced atomically on every change.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AbuError } from '../core/errors';
import { writeFileAtomic } from '../state/atomic-file';
import type { CoordinationStore, Rollout } from './coordination-store';

interface Journal {
  format: 1;
  rollout: Rollout | null;
  slots: Record<string, string[]>;
}

export class LocalCoordinationStore implements CoordinationStore {
  private readonly file: string;
  /** Changes run one after another, so two member steps never write over each other's journal entry. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    this.file = path.join(dir, 'coordination.json');
  }

  async loadRollout(): Promise<Rollout | null> {
    return (await this.read()).rollout;
  }

  saveRollout(rollout: Rollout): Promise<void> {
    const snapshot = JSON.parse(JSON.stringify(rollout)) as Rollout;
    return this.change((j) => void (j.rollout = snapshot));
  }

  acquireRebootSlot(group: string, holder: string, capacity = 1): Promise<boolean> {
    return this.change((j) => {
      const holders = (j.slots[group] ??= []);
      if (holders.includes(holder)) return true;
      if (holders.length >= capacity) return false;
      holders.push(holder);
      return true;
    });
  }

  releaseRebootSlot(group: string, holder: string): Promise<void> {
    return this.change((j) => {
      j.slots[group] = (j.slots[group] ?? []).filter((h) => h !== holder);
      if (j.slots[group].length === 0) delete j.slots[group];
    });
  }

  async rebootSlots(): Promise<Record<string, string[]>> {
    return (await this.read()).slots;
  }

  private change<T>(fn: (j: Journal) => T): Promise<T> {
    const run = this.queue.then(async () => {
      const j = await this.read();
      const result = fn(j);
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, JSON.stringify(j, null, 2) + '\n');
      return result;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async read(): Promise<Journal> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { format: 1, rollout: null, slots: {} };
      throw new AbuError('ABU_ERR_STATE_CORRUPT', `cannot read the rollout journal ${this.file}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const j = JSON.parse(text) as Journal;
      if (j.format !== 1) throw new Error(`unknown format ${String(j.format)}`);
      return j;
    } catch (e) {
      throw new AbuError('ABU_ERR_STATE_CORRUPT', `the rollout journal ${this.file} is corrupt (${(e as Error).message}); move it aside to forget the rollout`, { cause: e });
    }
  }
}
