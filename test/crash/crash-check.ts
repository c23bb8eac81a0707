// The invariants checked in every crash state: what the bootloader picks, what boot-check does, what status and history claim.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { EnvVars } from '../../engine/boot/env-vars';
import type { SchemeBackend } from '../../engine/boot/scheme-backend';
import { SimulatedBootloader } from '../../engine/boot/simulated-bootloader';
import type { SlotName } from '../../engine/core/slot';
import { createEngine, type AbuEngine } from '../../engine/engine';
import type { PersistedState } from '../../engine/state/state-store';
import { CRASH_IMAGE_SIZE } from './crash-appliance';
import type { CrashBench } from './crash-bench';
import type { RecordedOperation } from './crash-scenario';
import type { CrashState } from './crash-states';
import { parseListing } from '../integration/boot/tools';

const run = promisify(execFile);
/** The variables each real tool must show as abu reads them: `fw_printenv` for U-Boot, `grub-editenv list` for GRUB. */
const TOOL_KEYS: Record<string, string[]> = {
  uboot: ['BOOT_ORDER', 'BOOT_A_LEFT', 'BOOT_B_LEFT'],
  grub: ['ORDER', 'A_OK', 'A_TRY', 'B_OK', 'B_TRY'],
};

/** Checks one crash state on the bench; returns the violated invariants (empty when it holds). */
export async function checkCrashState(bench: CrashBench, rec: RecordedOperation, state: CrashState): Promise<string[]> {
  await bench.materialize(rec, state);
  const c = new Checker(bench);
  const baseDisk = rec.base.get(path.relative(bench.app.dir, bench.app.diskImage))!;
  const bootedBefore = c.digestOf(baseDisk, rec.booted);
  if ((await c.digest(rec.booted)) !== bootedBefore) c.fail(`the booted slot ${rec.booted} changed during ${rec.name}`);
  const engine = await createEngine(bench.configPath, { owner: 'crash-check' });
  try {
    await c.run(engine, rec);
  } catch (e) {
    c.fail(`${(e as { code?: string }).code ?? 'error'}: ${(e as Error).message}`);
  } finally {
    await engine.close();
  }
  return c.violations;
}

class Checker {
  readonly violations: string[] = [];

  constructor(private readonly bench: CrashBench) {}

  fail(message: string): void {
    this.violations.push(message);
  }

  async run(engine: AbuEngine, rec: RecordedOperation): Promise<void> {
    const backend = engine.parts.boot as SchemeBackend<unknown, unknown>;
    const tool = backend.kind in TOOL_KEYS ? await this.toolChoice(backend) : undefined;
    const { slot } = await new SimulatedBootloader(backend).boot();
    if (tool && tool.slot !== slot) this.fail(`${tool.name}'s variables pick ${tool.slot}, abu's read picks ${slot}`);
    if (!(await this.holdsImage(slot, 'the bootloader picks'))) return;
    await fs.writeFile(path.join(this.bench.dir, 'cmdline'), `console=ttyS0 abu.slot=${slot}\n`);
    const before = await this.digest(slot!);
    const history = (await engine.parts.state.load()).history.length;
    await engine.bootCheck();
    if ((await this.digest(slot!)) !== before) this.fail(`boot-check changed the bytes of booted slot ${slot}`);
    await this.checkStatus(engine);
    await this.checkHistory(await engine.parts.state.load(), history, rec);
    const next = backend.scheme.boot((await backend.stateStore.load()).state).slot;
    await this.holdsImage(next, 'after boot-check, the next boot picks');
  }

  /** The variables as the real tool reads them must be abu's, and pick the same slot. */
  private async toolChoice(backend: SchemeBackend<unknown, unknown>): Promise<{ name: string; slot: SlotName | null }> {
    // fw_env.config names the disk image relative to the folder; libubootenv resolves it against the working directory.
    const [cmd, args] = backend.kind === 'uboot' ? ['fw_printenv', ['-c', 'fw_env.config']] : ['grub-editenv', ['grubenv', 'list']];
    const { stdout } = await run(cmd, args, { encoding: 'latin1', cwd: this.bench.dir });
    const vars = parseListing(stdout);
    const abu = backend.scheme.describe((await backend.stateStore.load()).state);
    for (const k of TOOL_KEYS[backend.kind]) if (vars[k] !== abu[k]) this.fail(`${cmd} shows ${k}=${vars[k]}, abu reads ${abu[k]}`);
    return { name: cmd, slot: backend.scheme.boot(EnvVars.fromRecord(vars) as never).slot };
  }

  private async holdsImage(slot: SlotName | null, who: string): Promise<boolean> {
    if (!slot) return this.fail(`${who} no slot`), false;
    if (this.versionOf(await this.digest(slot))) return true;
    this.fail(`${who} slot ${slot}, which holds no complete image`);
    return false;
  }

  private async checkStatus(engine: AbuEngine): Promise<void> {
    for (const s of (await engine.status()).slots) {
      const held = this.versionOf(await this.digest(s.name));
      if (s.image === 'verified' && held !== s.version) this.fail(`status: slot ${s.name} verified ${s.version}, but it holds ${held ?? 'no complete image'}`);
      if (s.version && held !== s.version) this.fail(`status: slot ${s.name} has version ${s.version}, but it holds ${held ?? 'no complete image'}`);
      if ((s.state === 'good' || s.state === 'trying') && !held) this.fail(`status: slot ${s.name} is ${s.state} but holds no complete image`);
    }
  }

  /** Entries written since the crash must not claim a slot holds a release it does not. */
  private async checkHistory(s: PersistedState, from: number, rec: RecordedOperation): Promise<void> {
    const baseState = rec.base.get('state/state.json');
    const baseLength = baseState ? (JSON.parse(baseState.toString()) as PersistedState).history.length : 0;
    for (const e of s.history.slice(Math.min(from, baseLength))) {
      if (!['install', 'mark-good', 'activate'].includes(e.kind) || !e.version || !(e.slot in this.bench.app.slots)) continue;
      const held = this.versionOf(await this.digest(e.slot));
      if (held !== e.version) this.fail(`history: ${e.kind} of slot ${e.slot} (${e.version}), but it holds ${held ?? 'no complete image'}: "${e.message}"`);
    }
  }

  versionOf(digest: string): string | null {
    return Object.entries(this.bench.app.images).find(([, d]) => d === digest)?.[0] ?? null;
  }

  digestOf(disk: Buffer, slot: SlotName): string {
    const at = this.bench.app.slots[slot as 'A' | 'B'].offset;
    return createHash('sha256').update(disk.subarray(at, at + CRASH_IMAGE_SIZE)).digest('hex');
  }

  async digest(slot: SlotName): Promise<string> {
    const fh = await fs.open(this.bench.local(this.bench.app.diskImage), 'r');
    try {
      const buf = Buffer.alloc(CRASH_IMAGE_SIZE);
      await fh.read(buf, 0, buf.length, this.bench.app.slots[slot as 'A' | 'B'].offset);
      return createHash('sha256').update(buf).digest('hex');
    } finally {
      await fh.close();
    }
  }
}
