// Test helper: runs bin/abu as its own process (exit code, stdout, stderr) and checks the CLI's error contract.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

/** bin/abu of this checkout (the tests run from dist/test/integration/cli). */
export const ABU = path.resolve(__dirname, '../../../../bin/abu');

export interface AbuRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface AbuRunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: Buffer | string;
  /** Run as another user, e.g. ['setpriv', '--reuid=nobody', ...] (to see EACCES as root). */
  prefix?: string[];
}

/** The CLI's environment without anything that would point it at another appliance or daemon. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['ABU_CONFIG', 'ABU_DAEMON_URL', 'ABU_TOKEN']) delete env[key];
  return { ...env, ...extra };
}

export async function abu(args: string[], o: AbuRunOptions = {}): Promise<AbuRun> {
  const command = [...(o.prefix ?? []), process.execPath, ABU, ...args];
  const child = spawn(command[0], command.slice(1), { env: o.env ?? cleanEnv(), cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  child.stdin.on('error', () => undefined);
  child.stdin.end(o.input);
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** Node prints frames as "    at fn (file:line:col)"; none may reach a user for an ordinary mistake. */
export function assertNoStack(r: AbuRun): void {
  assert.doesNotMatch(r.stderr, /^\s+at .+[(:]\d+/m, `a stack trace reached the user:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^(Error|TypeError|AbuError)\b/m, `a raw error reached the user:\n${r.stderr}`);
}

/** Exit code, the one `abu: CODE: message` line on stderr, no stack trace. */
export function assertTypedError(r: AbuRun, code: string, o: { exit?: number; message?: RegExp } = {}): void {
  const context = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.code, o.exit ?? 1, `exit code; ${context}`);
  const line = new RegExp(`^abu: ${code}: (.+)$`, 'm').exec(r.stderr);
  assert.ok(line, `expected "abu: ${code}: ..." on stderr; ${context}`);
  if (o.message) assert.match(line[1], o.message, context);
  assertNoStack(r);
}

/** The exact JSON error document --json prints on stdout. */
export function jsonError(r: AbuRun): { code: string; message: string; details: Record<string, unknown> } {
  const doc = JSON.parse(r.stdout) as { error?: { code: string; message: string; details: Record<string, unknown> } };
  assert.ok(doc.error, `expected {"error": ...} on stdout, got ${r.stdout}`);
  return doc.error;
}

export interface ServeProcess {
  url: string;
  token: string;
  pid: number;
  stop(): Promise<void>;
}

/** `abu serve --json` as a process; resolves with what it prints on its first line. */
export async function serve(args: string[], env = cleanEnv()): Promise<ServeProcess> {
  const child = spawn(process.execPath, [ABU, 'serve', '--json', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`abu serve exited with ${code}: ${stderr}`)));
  });
  const info = JSON.parse(line) as { url: string; token: string };
  return {
    ...info,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGINT');
      await exited;
    },
  };
}
