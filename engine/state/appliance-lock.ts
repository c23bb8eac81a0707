// One writer per appliance: an flock on <stateDir>/abu.lock, taken by every operation that writes a slot,
// the boot flags or the state, whatever process runs it (daemon, CLI --direct, serial console, boot-check).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { flockExclusive } from '../../native/file-lock';
import { AbuError, withContext } from '../core/errors';
import { isProcessAlive } from '../core/pid';
import { isStorageFailure, storageError } from './atomic-file';
import type { LockHolder } from '../facade';

/**
 * Releases the lock: clears the holder record, then closes the descriptor (which drops the flock).
 * `interrupted` is the record a holder that died mid-operation left behind (a release empties it), else null.
 */
export type ReleaseLock = (() => Promise<void>) & { interrupted: LockHolder | null };

export class ApplianceLock {
  readonly file: string;

  /** @param owner the entry point shown to a refused second writer, e.g. "abu serve" */
  constructor(stateDir: string, private readonly owner: string) {
    this.file = path.join(stateDir, 'abu.lock');
  }

  /** Takes the lock for `operation`, or throws ABU_ERR_BUSY naming the holder and its PID. Never waits. */
  async acquire(operation: string): Promise<ReleaseLock> {
    const fh = await this.open();
    let taken = false;
    let interrupted: LockHolder | null = null;
    try {
      taken = flockExclusive(fh.fd);
      if (!taken) throw busyError(await this.holder());
      interrupted = leftover(await fh.readFile('utf8'));
      const holder: LockHolder = { pid: process.pid, operation, owner: this.owner, since: new Date().toISOString() };
      await fh.truncate(0);
      await fh.write(JSON.stringify(holder) + '\n', 0);
    } catch (e) {
      await fh.close();
      // A full or failing state folder shows here first: say so, as the state file's own write would.
      throw isStorageFailure(e) ? storageError(this.file, 'write-lock-record', e, 'nothing was changed') : e;
    }
    const release = async () => {
      await fh.truncate(0).catch(() => undefined); // a stale record is ignored anyway once the pid is gone
      await fh.close();
    };
    return Object.assign(release, { interrupted });
  }

  /**
   * Who holds the lock, from its record; null when nobody does. Reading never takes the lock (a status poll
   * must not make a writer fail); a record left by a killed process is recognised by its dead PID.
   */
  async holder(): Promise<LockHolder | null> {
    const text = await fs.readFile(this.file, 'utf8').catch(() => '');
    let h: LockHolder;
    try {
      h = JSON.parse(text) as LockHolder;
    } catch {
      return null;
    }
    return typeof h.pid === 'number' && isProcessAlive(h.pid) && (await this.openedBy(h.pid)) ? h : null;
  }

  /**
   * A killed writer's PID may since belong to an unrelated process; the real holder has the lock file open.
   * Checked through /proc/<pid>/fd (same file = same device and inode); trusted when /proc cannot tell
   * (another user's process, no /proc).
   */
  private async openedBy(pid: number): Promise<boolean> {
    const dir = `/proc/${pid}/fd`;
    const [lock, fds] = await Promise.all([fs.stat(this.file).catch(() => null), fs.readdir(dir).catch(() => null)]);
    if (!lock || !fds) return true;
    for (const fd of fds) {
      const st = await fs.stat(path.join(dir, fd)).catch(() => null);
      if (st && st.dev === lock.dev && st.ino === lock.ino) return true;
    }
    return false;
  }

  private async open(): Promise<fs.FileHandle> {
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      return await fs.open(this.file, 'a+', 0o644);
    } catch (e) {
      if (isStorageFailure(e)) throw storageError(this.file, 'open-lock', e, 'nothing was changed');
      throw withContext(`cannot open the appliance lock ${this.file}`, e, 'ABU_ERR_IO');
    }
  }
}

/** We hold the flock, so a record still in the file is a dead holder's (ours only if a release failed to clear it). */
function leftover(text: string): LockHolder | null {
  try {
    const h = JSON.parse(text) as LockHolder;
    return typeof h.pid === 'number' && h.pid !== process.pid && typeof h.operation === 'string' ? h : null;
  } catch {
    return null;
  }
}

/** ABU_ERR_BUSY naming the holder and its PID: the refusal every entry point gives a second writer. */
export function busyError(h: LockHolder | null): AbuError {
  // Between another writer's flock and its record there is a moment with no record yet.
  const who = h ? `"${h.operation}" by ${h.owner} (pid ${h.pid}, since ${h.since})` : 'another abu process (its record is not written yet)';
  return new AbuError('ABU_ERR_BUSY', `busy: ${who} is writing this appliance; wait for it to finish or cancel it`, {
    details: h ? { running: h.operation, pid: h.pid, owner: h.owner, since: h.since } : {},
  });
}
