// Runs one `abu serve` process per member of a simulated site (sim-site.ts) and stops them all together.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { AbuError } from '../core/errors';
import type { SimSite, SimSiteMember } from './sim-site';

const ABU = path.resolve(__dirname, '../../../bin/abu');

export interface SimSiteDaemon {
  member: SimSiteMember;
  child: ChildProcess;
}

/** Starts every member's daemon (its log in <member>/serve.log); all are stopped again if one fails to start. */
export interface SimSiteDaemons {
  daemons: SimSiteDaemon[];
  /** Stops one member's daemon (SIGKILL: the appliance lost power) and starts it again. */
  kill(name: string): Promise<void>;
  start(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startSimSiteDaemons(site: SimSite): Promise<SimSiteDaemons> {
  const daemons: SimSiteDaemon[] = [];
  const stop = async () => {
    await Promise.all(daemons.map((d) => stopChild(d.child)));
  };
  const of = (name: string) => daemons.find((d) => d.member.name === name)!;
  const kill = async (name: string) => {
    const { child } = of(name);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  const start = async (name: string) => {
    const d = of(name);
    d.child = await startDaemon(d.member);
  };
  try {
    await Promise.all(site.members.map(async (m) => daemons.push({ member: m, child: await startDaemon(m) })));
  } catch (e) {
    await stop();
    throw e;
  }
  daemons.sort((a, b) => site.members.indexOf(a.member) - site.members.indexOf(b.member));
  return { daemons, kill, start, stop };
}

async function startDaemon(m: SimSiteMember): Promise<ChildProcess> {
  // Logs beside the member folders: an appliance folder holds only what `abu sim remove` expects there.
  const log = path.join(path.dirname(m.sim.dir), 'logs', `${m.name}.log`);
  await fs.mkdir(path.dirname(log), { recursive: true });
  const child = spawn(process.execPath, [ABU, 'serve', '--config', m.sim.configPath, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.pipe(createWriteStream(log, { flags: 'a' }));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new AbuError('ABU_ERR_INTERNAL', `${m.name}: abu serve exited with ${code} before listening (see ${log})`)));
  });
  child.stdout!.resume();
  return child;
}

/** SIGTERM (an orderly stop), SIGKILL after 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(force);
}
