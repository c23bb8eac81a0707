// Test network for the site: a namespace per member on a bridge per data center with a shaped link between the
// bridges (root + `ip`): rate-limited by tbf, delayed and lossy through netdelay (link-impairment.ts); or loopback
// ports otherwise. The test talks to members over unix sockets forwarded into
// their namespaces, so no address outside the namespaces the test made is ever configured.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../engine/sim/sim-site';
import { describeImpairment, Netdelay, type LinkImpairment, type NetdelayStats } from './link-impairment';

const run = promisify(execFile);

export interface MemberEndpoint {
  /** Address the member's daemon listens on, and the URL the other members use. */
  host: string;
  port: number;
  url: string;
  /** The namespace the member runs in (null on loopback). */
  ns: string | null;
  /** Unix socket forwarded to the member's port inside its namespace (null on loopback). */
  socketPath: string | null;
}

export interface TestNetwork {
  kind: 'netns' | 'loopback';
  /** How the link between the data centers is shaped, for the test's log. */
  link: string;
  /** The delay and loss on the link between the data centers; null on loopback (no link to impair). */
  impairment: LinkImpairment | null;
  /** Why the link is not impaired although it was asked to be (netdelay could not start); else null. */
  unimpairedBecause: string | null;
  /** netdelay's counters for that link; null when it is not impaired. */
  linkStats(): Promise<NetdelayStats | null>;
  endpoint(index: number, dataCenter: number): Promise<MemberEndpoint>;
  /** The command line run inside a member's namespace. */
  wrap(argv: string[], ns: string | null): string[];
  teardown(): Promise<void>;
}

/** `impairment` null: only the rate limit on the link (netdelay not started). */
export async function createTestNetwork(dir: string, dataCenters: number, impairment: LinkImpairment | null): Promise<TestNetwork> {
  // ABU_SITE_NET=loopback forces the fallback (to check it still works where namespaces can be made).
  if (process.env.ABU_SITE_NET !== 'loopback' && process.getuid?.() === 0 && (await run('ip', ['netns', 'list']).then(() => true, () => false))) {
    try {
      return await NamespaceNetwork.create(dir, dataCenters, impairment);
    } catch (e) {
      process.stderr.write(`      (network namespaces could not be made: ${(e as Error).message.split('\n')[0]}; using loopback ports)\n`);
    }
  }
  return new LoopbackNetwork();
}

class LoopbackNetwork implements TestNetwork {
  readonly kind = 'loopback';
  readonly link = 'loopback ports (not root or no `ip`): no namespaces, the data centers share one host, no delay or loss';
  readonly impairment = null;
  readonly unimpairedBecause = null;

  async linkStats(): Promise<null> {
    return null;
  }

  async endpoint(): Promise<MemberEndpoint> {
    const port = await freePort();
    return { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}`, ns: null, socketPath: null };
  }

  wrap(argv: string[]): string[] {
    return argv;
  }

  async teardown(): Promise<void> {}
}

class NamespaceNetwork implements TestNetwork {
  readonly kind = 'netns';
  link = '';
  impairment: LinkImpairment | null = null;
  unimpairedBecause: string | null = null;
  private readonly names: string[] = [];
  private readonly forwarders: ChildProcess[] = [];
  private netdelay: Netdelay | null = null;
  // Several networks in one test process (the shared site, the link test) need distinct namespace names.
  private static made = 0;

  private constructor(private readonly dir: string, private readonly prefix: string) {}

  static async create(dir: string, dataCenters: number, impairment: LinkImpairment | null): Promise<NamespaceNetwork> {
    const net = new NamespaceNetwork(dir, `abuc${process.pid}n${NamespaceNetwork.made++}`);
    try {
      await net.switches(dataCenters, impairment);
    } catch (e) {
      await net.teardown();
      throw e;
    }
    return net;
  }

  /** One namespace holding a bridge per data center, joined by a veth pair: the inter-data-center link. */
  private async switches(dataCenters: number, impairment: LinkImpairment | null): Promise<void> {
    const sw = await this.namespace('sw');
    for (let dc = 1; dc <= dataCenters; dc++) await ip(['-n', sw, 'link', 'add', `br${dc}`, 'type', 'bridge'], ['-n', sw, 'link', 'set', `br${dc}`, 'up']);
    const wan: string[] = [];
    for (let dc = 2; dc <= dataCenters; dc++) {
      await ip(['-n', sw, 'link', 'add', `wan${dc}a`, 'type', 'veth', 'peer', 'name', `wan${dc}b`]);
      await ip(['-n', sw, 'link', 'set', `wan${dc}a`, 'master', 'br1', 'up'], ['-n', sw, 'link', 'set', `wan${dc}b`, 'master', `br${dc}`, 'up']);
      // A token bucket per direction: the link's rate; the members' own veths stay unlimited.
      for (const d of [`wan${dc}a`, `wan${dc}b`]) await run('ip', ['netns', 'exec', sw, 'tc', 'qdisc', 'replace', 'dev', d, 'root', 'tbf', 'rate', '80mbit', 'burst', '64kb', 'latency', '50ms']);
      wan.push(`wan${dc}a`, `wan${dc}b`);
    }
    this.link = 'namespaces, inter-data-center link: tbf 80 Mbit/s';
    if (!impairment || !wan.length) return;
    try {
      // Packets come in from one end of the link on each bridge: one per crossing, whichever the direction.
      this.netdelay = await Netdelay.start(sw, wan, impairment);
      this.impairment = impairment;
      this.link += `, ${describeImpairment(impairment)}`;
    } catch (e) {
      // The site still runs (unimpaired); the link test (link.test.ts) fails with this reason.
      this.unimpairedBecause = (e as Error).message;
      this.link += `, NO delay or loss: ${this.unimpairedBecause}`;
    }
  }

  async linkStats(): Promise<NetdelayStats | null> {
    return this.netdelay ? this.netdelay.stats() : null;
  }

  async endpoint(index: number, dataCenter: number): Promise<MemberEndpoint> {
    const ns = await this.namespace(`m${index}`);
    const sw = `${this.prefix}-sw`;
    const host = `10.77.0.${10 + index}`;
    await ip(['link', 'add', `m${index}`, 'netns', ns, 'type', 'veth', 'peer', 'name', `p${index}`, 'netns', sw]);
    await ip(['-n', ns, 'addr', 'add', `${host}/24`, 'dev', `m${index}`], ['-n', ns, 'link', 'set', `m${index}`, 'up'], ['-n', sw, 'link', 'set', `p${index}`, 'master', `br${dataCenter}`, 'up']);
    const socketPath = path.join(this.dir, `m${index}.sock`);
    // Lives as long as the test: the member's daemon may be down (rebooting) and come back behind it.
    const fwd = spawn('ip', ['netns', 'exec', ns, 'socat', `UNIX-LISTEN:${socketPath},fork,reuseaddr`, `TCP:${host}:8080`], { stdio: 'ignore' });
    this.forwarders.push(fwd);
    await waitFor(async () => (await run('test', ['-S', socketPath]).then(() => true, () => false)), 5000);
    return { host, port: 8080, url: `http://${host}:8080`, ns, socketPath };
  }

  wrap(argv: string[], ns: string | null): string[] {
    return ns ? ['ip', 'netns', 'exec', ns, ...argv] : argv;
  }

  async teardown(): Promise<void> {
    for (const f of this.forwarders) f.kill('SIGKILL');
    // Before the namespaces go: a process inside one would keep it alive.
    await this.netdelay?.stop();
    // Deleting a namespace removes its veth ends and bridges with it.
    for (const ns of this.names.reverse()) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }

  private async namespace(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    await ip(['netns', 'add', ns]);
    this.names.push(ns);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }
}

async function ip(...commands: string[][]): Promise<void> {
  for (const c of commands) await run('ip', c);
}


export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
