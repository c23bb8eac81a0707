// Test network for the site: a namespace per member on a bridge per data center with a shaped link between the
// bridges (root + `ip`), or loopback ports otherwise. The test talks to members over unix sockets forwarded into
// their namespaces, so no address outside the namespaces the test made is ever configured.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../engine/sim/sim-site';

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
  endpoint(index: number, dataCenter: number): Promise<MemberEndpoint>;
  /** The command line run inside a member's namespace. */
  wrap(argv: string[], ns: string | null): string[];
  teardown(): Promise<void>;
}

export async function createTestNetwork(dir: string, dataCenters: number): Promise<TestNetwork> {
  // ABU_SITE_NET=loopback forces the fallback (to check it still works where namespaces can be made).
  if (process.env.ABU_SITE_NET !== 'loopback' && process.getuid?.() === 0 && (await run('ip', ['netns', 'list']).then(() => true, () => false))) {
    try {
      return await NamespaceNetwork.create(dir, dataCenters);
    } catch (e) {
      process.stderr.write(`      (network namespaces could not be made: ${(e as Error).message.split('\n')[0]}; using loopback ports)\n`);
    }
  }
  return new LoopbackNetwork();
}

class LoopbackNetwork implements TestNetwork {
  readonly kind = 'loopback';
  readonly link = 'loopback ports (not root or no `ip`): no namespaces, the data centers share one host';

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
  private readonly names: string[] = [];
  private readonly forwarders: ChildProcess[] = [];

  private constructor(private readonly dir: string, private readonly prefix: string) {}

  static async create(dir: string, dataCenters: number): Promise<NamespaceNetwork> {
    const net = new NamespaceNetwork(dir, `abuc${process.pid}`);
    try {
      await net.switches(dataCenters);
    } catch (e) {
      await net.teardown();
      throw e;
    }
    return net;
  }

  /** One namespace holding a bridge per data center, joined by a veth pair: the inter-data-center link. */
  private async switches(dataCenters: number): Promise<void> {
    const sw = await this.namespace('sw');
    for (let dc = 1; dc <= dataCenters; dc++) await ip(['-n', sw, 'link', 'add', `br${dc}`, 'type', 'bridge'], ['-n', sw, 'link', 'set', `br${dc}`, 'up']);
    for (let dc = 2; dc <= dataCenters; dc++) {
      await ip(['-n', sw, 'link', 'add', `wan${dc}a`, 'type', 'veth', 'peer', 'name', `wan${dc}b`]);
      await ip(['-n', sw, 'link', 'set', `wan${dc}a`, 'master', 'br1', 'up'], ['-n', sw, 'link', 'set', `wan${dc}b`, 'master', `br${dc}`, 'up']);
      this.link = await shape(sw, [`wan${dc}a`, `wan${dc}b`]);
    }
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

/** netem delay and loss when the kernel has it; otherwise a token-bucket rate limit (sch_tbf), said so. */
async function shape(ns: string, devs: string[]): Promise<string> {
  try {
    for (const d of devs) await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', d, 'root', 'netem', 'delay', '15ms', '3ms', 'loss', '0.3%', 'rate', '200mbit']);
    return 'namespaces, inter-data-center link: netem delay 15±3 ms, loss 0.3 %, 200 Mbit/s';
  } catch {
    for (const d of devs) await run('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'replace', 'dev', d, 'root', 'tbf', 'rate', '80mbit', 'burst', '64kb', 'latency', '50ms']);
    return 'namespaces, inter-data-center link: tbf 80 Mbit/s (this kernel has no sch_netem, so no delay or loss)';
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
