// Delay and loss on the inter-data-center link of the namespaced test network. This kernel has no sch_netem, so
// netdelay (test/support/netdelay, a userspace netem) runs in the switch namespace on an NFQUEUE queue, and
// iptables sends it only the packets that come in from the link's veth ends (bridged, via br_netfilter + physdev).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);
const NETDELAY = path.resolve(__dirname, '../../../../test/support/netdelay/netdelay');
// Queues are per network namespace: the same number in every test's own switch namespace does not collide.
const QUEUE = '0';

export interface LinkImpairment {
  /** Added to every packet in each direction (a round trip gets twice this). */
  delayMs: number;
  /** Uniform ± around the delay; the link still never reorders (netdelay holds a packet behind earlier ones). */
  jitterMs: number;
  /** Per packet, in each direction. */
  lossPercent: number;
}

export const DEFAULT_IMPAIRMENT: LinkImpairment = { delayMs: 20, jitterMs: 0, lossPercent: 1 };

/** ABU_SITE_LINK=off, or e.g. ABU_SITE_LINK=delay=50,jitter=5,loss=2, overrides the harness's figures by hand. */
export function impairmentFromEnv(fallback: LinkImpairment | null): LinkImpairment | null {
  const spec = process.env.ABU_SITE_LINK;
  if (!spec) return fallback;
  if (spec === 'off') return null;
  const o = { ...(fallback ?? DEFAULT_IMPAIRMENT) };
  for (const part of spec.split(',')) {
    const [k, v] = part.split('=');
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`ABU_SITE_LINK: ${part} is not key=number`);
    if (k === 'delay') o.delayMs = n;
    else if (k === 'jitter') o.jitterMs = n;
    else if (k === 'loss') o.lossPercent = n;
    else throw new Error(`ABU_SITE_LINK: unknown key ${k} (delay, jitter, loss)`);
  }
  return o;
}

export function describeImpairment(o: LinkImpairment): string {
  const jitter = o.jitterMs ? `±${o.jitterMs}` : '';
  return `delay ${o.delayMs}${jitter} ms each way, loss ${o.lossPercent} % (netdelay on NFQUEUE: this kernel has no sch_netem)`;
}

/** netdelay's own counters (see netdelay.c). */
export interface NetdelayStats {
  received: number;
  accepted: number;
  dropped: number;
  held: number;
  overflow: number;
  lost: number;
}

export class Netdelay {
  private readonly waiters: ((line: string) => void)[] = [];
  private readonly exited: Promise<void>;
  private lastStats: NetdelayStats | null = null;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('stats ')) this.lastStats = parseStats(line);
      this.waiters.splice(0).forEach((w) => w(line));
    });
    child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    child.on('error', (e) => (this.stderr += e.message));
    this.exited = new Promise((resolve) => child.on('close', () => resolve()));
  }

  /** Starts netdelay in `ns`, then sends it what comes in from `ports` (the link's ends on the bridges). */
  static async start(ns: string, ports: string[], o: LinkImpairment): Promise<Netdelay> {
    await fs.access(NETDELAY).catch(() => {
      throw new Error(`${NETDELAY} is not built (scripts/setup --test builds it)`);
    });
    // `ip netns exec` execs netdelay itself, so the child's pid is netdelay's (signals reach it directly).
    const args = ['-q', QUEUE, '-d', String(o.delayMs), '-j', String(o.jitterMs), '-l', String(o.lossPercent)];
    const nd = new Netdelay(spawn('ip', ['netns', 'exec', ns, NETDELAY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
    try {
      // Rules only once the queue is bound: without a reader (and without fail-open) the kernel drops queued packets.
      await nd.nextLine('ready', 10_000);
      // Bridged IPv4 goes through iptables only with this switched on (per namespace).
      await run('ip', ['netns', 'exec', ns, 'sh', '-c', 'echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables']);
      for (const p of ports) {
        await run('ip', ['netns', 'exec', ns, 'iptables', '-w', '-A', 'FORWARD', '-m', 'physdev', '--physdev-in', p, '-j', 'NFQUEUE', '--queue-num', QUEUE]);
      }
    } catch (e) {
      await nd.stop();
      throw e;
    }
    return nd;
  }

  /** The counters now (netdelay prints them on SIGUSR1). */
  async stats(): Promise<NetdelayStats> {
    const line = this.nextLine('stats', 10_000);
    this.child.kill('SIGUSR1');
    return parseStats(await line);
  }

  /** Stops netdelay; returns its final counters (null if it never printed any). */
  async stop(): Promise<NetdelayStats | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
    return this.lastStats;
  }

  private nextLine(prefix: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`netdelay: no "${prefix}" line within ${timeoutMs} ms; stderr: ${this.stderr.trim()}`)), timeoutMs);
      const failed = () => reject(new Error(`netdelay exited (${this.child.exitCode ?? this.child.signalCode}): ${this.stderr.trim()}`));
      this.exited.then(failed);
      const wait = (line: string) => {
        if (!line.startsWith(prefix)) return void this.waiters.push(wait);
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push(wait);
    });
  }
}

function parseStats(line: string): NetdelayStats {
  const v = Object.fromEntries(line.split(' ').slice(1).map((kv) => kv.split('=')).map(([k, n]) => [k, Number(n)]));
  return { received: v.received, accepted: v.accepted, dropped: v.dropped, held: v.held, overflow: v.overflow, lost: v.lost };
}
