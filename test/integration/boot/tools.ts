// Helpers for the real-tool round trips: run fw_printenv/fw_setenv/mkenvimage/grub-editenv and random envs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FwEnvCopy } from '../../../engine/boot/fw-env-config';
import { FileEnvStore } from '../../../engine/boot/env-store';
import { UbootEnv } from '../../../engine/boot/uboot-env';

const run = promisify(execFile);

/** Run a tool; stdout as latin1 so env bytes above 0x7f come back unchanged. */
export async function tool(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { encoding: 'latin1', maxBuffer: 1 << 24 });
  return stdout;
}

export async function haveTools(...names: string[]): Promise<boolean> {
  try {
    for (const n of names) await run('sh', ['-c', `command -v ${n}`]);
    return true;
  } catch {
    return false;
  }
}

/** `name=value` lines as printed by fw_printenv and grub-editenv list. */
export function parseListing(out: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of out.split('\n')) {
    if (line === '') continue;
    const eq = line.indexOf('=');
    vars[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return vars;
}

/** Deterministic generator (xorshift32) so a failing case can be replayed by its seed. */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 1;
  return (n) => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s % n;
  };
}

const NAME_FIRST = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_';
const NAME_REST = `${NAME_FIRST}0123456789.`;
// No newline or backslash (line-based tools), no NUL; includes '=', quotes, spaces and latin1 bytes.
const VALUE = `${NAME_REST} =-+:;,"'$%&*()[]{}<>/?!~|^\xe9\xfc\xa0`;

export function randomEnv(rand: (n: number) => number, count: number): Record<string, string> {
  const vars: Record<string, string> = {};
  const pick = (set: string, len: number) => Array.from({ length: len }, () => set[rand(set.length)]).join('');
  while (Object.keys(vars).length < count) {
    const name = pick(NAME_FIRST, 1) + pick(NAME_REST, rand(16));
    vars[name] = pick(VALUE, 1 + rand(60)).replace(/^ | $/g, 'x'); // tools trim nothing, but keep ends visible
  }
  return vars;
}

/** abu's reader over `copies` (a parsed fw_env.config). */
export async function abuRead(copies: FwEnvCopy[], bigEndian = false): Promise<Record<string, string>> {
  return (await new UbootEnv(await FileEnvStore.open(copies), bigEndian).read()).vars.toRecord();
}
