// Test harness: one site member as a real `abu serve` process, and the "hardware" around it. A reboot asked by the
// member (its reboot command touches a marker) takes the daemon down for a set time, powers the simulated
// appliance on (simulated bootloader + boot-check, as init would) and starts the daemon again.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { SimulatedBootloader } from '../../../engine/boot/simulated-bootloader';
import { createBootFlagBackend } from '../../../engine/boot/registry';
import { loadConfig } from '../../../engine/config';
import { createEngine } from '../../../engine/engine';
import { writeFileAtomic } from '../../../engine/state/atomic-file';
import type { MemberEndpoint, TestNetwork } from './test-network';

const ABU = path.resolve(__dirname, '../../../../bin/abu');

export interface MemberEvent {
  time: number;
  kind: 'up' | 'down' | 'boot';
  detail: string;
}

export class MemberProcess {
  readonly events: MemberEvent[] = [];
  /** Reboots the member asked for (each may take several power-ons when boot-check rejects a slot). */
  reboots = 0;
  private child: ChildProcess | null = null;
  private watcher: NodeJS.Timeout | null = null;
  private cycling: Promise<void> | null = null;

  constructor(readonly name: string, readonly configPath: string, readonly dir: string, readonly endpoint: MemberEndpoint, private readonly net: TestNetwork, private readonly downtimeMs: number) {}

  get marker(): string {
    return path.join(this.dir, 'reboot-requested');
  }

  get up(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    const argv = this.net.wrap([process.execPath, ABU, 'serve', '--config', this.configPath, '--host', this.endpoint.host, '--port', String(this.endpoint.port), '--json'], this.endpoint.ns);
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr!.pipe(createWriteStream(path.join(this.dir, 'serve.log'), { flags: 'a' }));
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', () => resolve());
      child.once('exit', (code) => reject(new Error(`${this.name}: abu serve exited with ${code} before listening (see ${this.dir}/serve.log)`)));
    });
    this.child = child;
    this.events.push({ time: Date.now(), kind: 'up', detail: 'abu serve listening' });
    this.watcher ??= setInterval(() => this.checkMarker(), 100);
  }

  /** Stops the daemon (SIGKILL: a crash or power cut; SIGTERM: an orderly shutdown, forced after 3 s). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
    child.kill(signal);
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(force);
    this.events.push({ time: Date.now(), kind: 'down', detail: signal });
  }

  async stop(): Promise<void> {
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = null;
    await this.cycling?.catch(() => undefined);
    await this.kill('SIGKILL');
  }

  /** Waits for a reboot in progress (down, booting, coming back) to end. */
  async settled(): Promise<void> {
    while (this.cycling) await this.cycling;
  }

  private checkMarker(): void {
    if (this.cycling || !existsSync(this.marker)) return;
    this.cycling = this.powerCycle().catch((e) => {
      this.events.push({ time: Date.now(), kind: 'boot', detail: `power cycle failed: ${(e as Error).message}` });
    }).finally(() => (this.cycling = null));
  }

  /** Down for downtimeMs, then power-on until boot-check settles (a rejected slot asks for another reboot). */
  private async powerCycle(): Promise<void> {
    this.reboots++;
    for (let boots = 0; existsSync(this.marker) && boots < 6; boots++) {
      await fs.rm(this.marker, { force: true });
      await this.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, this.downtimeMs));
      const detail = await powerOn(this.configPath);
      this.events.push({ time: Date.now(), kind: 'boot', detail });
      // boot-check rejected the slot and asked for a reboot: its reboot command (touch) runs detached.
      if (detail.includes('marked-bad')) for (let i = 0; i < 20 && !existsSync(this.marker); i++) await new Promise((r) => setTimeout(r, 50));
    }
    await this.start();
  }
}

/** What the simulated appliance's firmware and init do at power-on: pick a slot, record it, run boot-check. */
export async function powerOn(configPath: string): Promise<string> {
  const config = await loadConfig(configPath);
  const { slot } = await new SimulatedBootloader(await createBootFlagBackend(config.bootloader)).boot();
  if (!slot) return 'no bootable slot';
  await writeFileAtomic((config.bootedSlot as { cmdline: string }).cmdline, `console=ttyS0 abu.slot=${slot}\n`);
  const engine = await createEngine(configPath, { owner: 'boot-check (test power-on)' });
  try {
    const r = await engine.bootCheck();
    return `slot ${slot}: ${r.outcome}: ${r.message}`;
  } finally {
    await engine.close();
  }
}
