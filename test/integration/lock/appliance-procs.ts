// Test helper: abu as real processes on one simulated appliance (CLI runs, the daemon, serial consoles on pty
// pairs), the lock record they leave in <stateDir>/abu.lock, and a snapshot of everything a writer could change.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import type { LockHolder } from '../../../engine/facade';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { readGpt } from '../../../engine/slots/gpt';
import { slotHash } from '../../helpers/sim-fixture';
import { HostConsole, ptyPair, type PtyPair } from '../serial/pty-pair';

/** bin/abu of this checkout (it runs the compiled CLI from dist/). */
export const ABU = path.resolve(__dirname, '../../../../bin/abu');

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A `node bin/abu ...` process with its output collected; `exit` settles when it ends. */
export interface AbuProcess {
  child: ChildProcess;
  pid: number;
  exit: Promise<Exit>;
  output(): { stdout: string; stderr: string };
}

/** `env` adds variables for this process only (e.g. ABU_FAULT for the kill-point campaign). */
export function spawnAbu(args: string[], o: { stdin?: 'pipe' | 'ignore'; env?: NodeJS.ProcessEnv } = {}): AbuProcess {
  const child = spawn(process.execPath, [ABU, ...args], { stdio: [o.stdin ?? 'ignore', 'pipe', 'pipe'], env: { ...process.env, ABU_DAEMON_URL: '', ...o.env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += String(d)));
  child.stderr!.on('data', (d: Buffer) => (stderr += String(d)));
  // 'close', not 'exit': 'exit' can come before the last of stderr is read (a fault point's line, written just before
  // its SIGKILL, was then missing under load, and the kill-point check failed with an empty stderr).
  const exit = new Promise<Exit>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return { child, pid: child.pid!, exit, output: () => ({ stdout, stderr }) };
}

export function runAbu(args: string[]): Promise<Exit> {
  return spawnAbu(args).exit;
}

/** Polls `probe` every 20 ms until it returns a truthy value; fails naming `what` after `ms`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The holder record in <stateDir>/abu.lock as written by the process holding the flock; null when empty. */
export async function lockRecord(stateDir: string): Promise<LockHolder | null> {
  const text = await fs.readFile(path.join(stateDir, 'abu.lock'), 'utf8').catch(() => '');
  try {
    return JSON.parse(text) as LockHolder;
  } catch {
    return null;
  }
}

export function waitForLockHeldBy(stateDir: string, pid: number, ms?: number): Promise<LockHolder> {
  return waitFor(`the lock record of pid ${pid}`, async () => {
    const r = await lockRecord(stateDir);
    return r?.pid === pid ? r : null;
  }, ms);
}

export async function readState(sim: SimAppliance): Promise<any> {
  return JSON.parse(await fs.readFile(path.join(sim.dir, 'state', 'state.json'), 'utf8'));
}

/** Everything a writer may change: the state file, the boot env partition, both slots, the booted-slot record. */
export interface Snapshot {
  state: string;
  env: string;
  A: string;
  B: string;
  cmdline: string;
}

export async function snapshot(sim: SimAppliance): Promise<Snapshot> {
  const env = (await readGpt(sim.diskImage)).find((p) => p.number === 1)!;
  const fh = await fs.open(sim.diskImage, 'r');
  const envBytes = Buffer.alloc(env.size);
  try {
    await fh.read(envBytes, 0, env.size, env.offset);
  } finally {
    await fh.close();
  }
  return {
    state: await fs.readFile(path.join(sim.dir, 'state', 'state.json'), 'utf8'),
    env: createHash('sha256').update(envBytes).digest('hex'),
    A: await slotHash(sim, 'A'),
    B: await slotHash(sim, 'B'),
    cmdline: await fs.readFile(path.join(sim.dir, 'cmdline'), 'utf8'),
  };
}

export interface ServeProcess {
  proc: AbuProcess;
  url: string;
  token: string;
  stop(): Promise<void>;
}

/** `abu serve --config C --port 0 --json` as a process; resolves once it printed its URL and token. */
export async function startServe(configPath: string, env?: NodeJS.ProcessEnv): Promise<ServeProcess> {
  const proc = spawnAbu(['serve', '--config', configPath, '--port', '0', '--json'], { env });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.child.stdout! }).once('line', resolve);
    void proc.exit.then((e) => reject(new Error(`abu serve exited early with ${e.code}: ${e.stderr}`)));
  });
  const info = JSON.parse(line) as { url: string; token: string };
  return { proc, url: info.url, token: info.token, stop: () => stop(proc) };
}

export interface ConsoleProcess {
  proc: AbuProcess;
  host: HostConsole;
  stop(): Promise<void>;
}

/** `abu console --device <pty> --direct` on the device end of a socat pty pair; the test drives the host end. */
export async function startConsole(dir: string, configPath: string, env?: NodeJS.ProcessEnv): Promise<ConsoleProcess> {
  const pty: PtyPair = await ptyPair(dir);
  const device = pty.device.path;
  await new Promise<void>((resolve) => pty.device.close(() => resolve()));
  const proc = spawnAbu(['console', '--device', device, '--config', configPath, '--direct'], { env });
  await waitFor('abu console to serve', async () => {
    if (proc.child.exitCode !== null) throw new Error(`abu console exited with ${proc.child.exitCode}: ${proc.output().stderr}`);
    return /serving on/.test(proc.output().stderr);
  }, 15_000);
  const host = new HostConsole(pty.host);
  return {
    proc,
    host,
    stop: async () => {
      host.reader.close();
      await stop(proc);
      await pty.close();
    },
  };
}

/** SIGTERM, then SIGKILL if it is still there after 5 s. */
async function stop(p: AbuProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await p.exit;
  clearTimeout(t);
}

/** POST /api/install with `body` as the upload; the daemon's JSON answer and status. */
export async function postInstall(d: { url: string; token: string }, body: Buffer, name: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${d.url}/api/install`, {
    method: 'POST',
    headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/octet-stream', 'x-abu-filename': encodeURIComponent(name) },
    body,
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) };
  } catch {
    return { status: res.status, json: text };
  }
}
