// Guards a simulated appliance's folder: who is using it (a live `abu serve`, an operation holding the appliance
// lock), and removal that refuses while anyone is, so a second demo cannot delete a running one's appliance.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '../config';
import { AbuError } from '../core/errors';
import { isProcessAlive } from '../core/pid';
import { ApplianceLock } from '../state/appliance-lock';

/** Someone using a simulated appliance: a daemon serving it, or a process holding its appliance lock. */
export interface SimUser {
  kind: 'daemon' | 'lock';
  pid: number;
  /** What it is, in words: `abu serve at http://...`, `"install" by abu (CLI --direct)`. */
  what: string;
}

/** Entries `createSimAppliance` makes at the top of its folder; a folder with anything else is not removed. */
const SIM_ENTRIES = new Set(['config.json', 'disk.img', 'fw_env.config', 'cmdline', 'keys', 'images', 'bundles', 'state']);

/** The state directory of the appliance in `dir`: its config's stateDir, else the default `state/`. */
async function stateDirOf(dir: string): Promise<string> {
  const config = await loadConfig(path.join(dir, 'config.json')).catch(() => null);
  return config?.stateDir ?? path.join(dir, 'state');
}

/**
 * Who uses the appliance in `dir`, or null. A daemon is found by the runtime file it keeps in the state directory
 * (`daemon.json`, removed when it stops) and a live PID; an operation by the lock holder record (its PID alive).
 * This process never counts as a user of its own.
 */
export async function simFolderUser(dir: string): Promise<SimUser | null> {
  const stateDir = await stateDirOf(dir);
  const daemon = await fs.readFile(path.join(stateDir, 'daemon.json'), 'utf8').then((t) => JSON.parse(t) as { pid?: unknown; url?: unknown }, () => null);
  if (daemon && typeof daemon.pid === 'number' && daemon.pid !== process.pid && isProcessAlive(daemon.pid)) {
    return { kind: 'daemon', pid: daemon.pid, what: `abu serve at ${String(daemon.url)}` };
  }
  const holder = await new ApplianceLock(stateDir, '').holder();
  if (holder && holder.pid !== process.pid) return { kind: 'lock', pid: holder.pid, what: `"${holder.operation}" by ${holder.owner}` };
  return null;
}

/** Throws ABU_ERR_BUSY when a running process uses the appliance in `dir`. */
export async function assertSimNotInUse(dir: string, doing: string): Promise<void> {
  const user = await simFolderUser(dir);
  if (!user) return;
  throw new AbuError('ABU_ERR_BUSY', `not ${doing} ${dir}: ${user.what} (pid ${user.pid}) is using it; stop that first (Ctrl-C where it runs, or kill ${user.pid})`, {
    details: { pid: user.pid, user: user.kind, running: user.what },
  });
}

/**
 * Deletes a simulated appliance folder, refused (ABU_ERR_BUSY) while a daemon or an operation uses it, and
 * (ABU_ERR_USAGE) when the folder holds anything a simulated appliance does not, so a mistyped path is never wiped.
 * A missing folder is already removed: false (true when this call deleted one).
 */
export async function removeSimAppliance(dir: string): Promise<boolean> {
  const entries = await fs.readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new AbuError('ABU_ERR_IO', `cannot read ${dir}: ${e.message}`, { cause: e });
  });
  if (entries === null) return false;
  const foreign = entries.filter((e) => !SIM_ENTRIES.has(e));
  if (foreign.length > 0) {
    throw new AbuError('ABU_ERR_USAGE', `not removing ${dir}: it is not a simulated appliance (it holds ${foreign.slice(0, 3).join(', ')})`, { details: { foreign } });
  }
  await assertSimNotInUse(dir, 'removing');
  await fs.rm(dir, { recursive: true, force: true });
  return true;
}
