// Test helpers for commands run as processes: bin/abu and scripts, their output and exit code; long-running ones
// in their own process group so a test can stop them (and their children) by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as path from 'node:path';
import { REPO_ROOT } from './readme';

export const ABU = path.join(REPO_ROOT, 'bin/abu');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end (killed after `timeoutMs`); never throws on a non-zero exit. */
export function runProcess(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd ?? REPO_ROOT, env: o.env ?? withoutAbuEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), o.timeoutMs ?? 100_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The environment without ABU_* settings from the developer's shell (a config or daemon URL would redirect the CLI). */
export function withoutAbuEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ABU_'))), ...extra };
}

/** A long-running process in its own group, with its output so far. */
export interface Background {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first stdout line matching `re`; rejects if the process exits first. */
  waitFor(re: RegExp): Promise<string>;
  /** SIGINT to the group (Ctrl-C), then the exit code. */
  stop(): Promise<number | null>;
}

export function background(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Background {
  const child = spawn(cmd, args, { cwd: o.cwd ?? REPO_ROOT, env: o.env ?? withoutAbuEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.filter((x) => x.re.test(l))) w.resolve(l);
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    waitFor: (re) => {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        void exited.then((code) => reject(new Error(`${cmd} exited (${code}) before printing ${re}:\n${out}`)));
      });
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGINT');
      return exited;
    },
  };
}
