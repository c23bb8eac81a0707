// Test helper: a real three-member etcd cluster (Debian's etcd-server), each member a process the test starts,
// kills and restarts: on loopback ports, or on given addresses inside network namespaces the test made.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../engine/sim/sim-site';

const run = promisify(execFile);

export interface EtcdHost {
  /** Address the member listens on (client port and peer port). */
  host: string;
  /** Namespace to run it in (null: this one). */
  ns: string | null;
}

export interface EtcdMember {
  name: string;
  host: EtcdHost;
  clientUrl: string;
  peerUrl: string;
  proc: ChildProcess | null;
}

export class EtcdCluster {
  private constructor(readonly dir: string, readonly members: EtcdMember[]) {}

  /** Starts every member and waits until the cluster has a leader. */
  static async start(dir: string, hosts: EtcdHost[]): Promise<EtcdCluster> {
    await fs.mkdir(dir, { recursive: true });
    const members: EtcdMember[] = [];
    for (const [i, host] of hosts.entries()) {
      const [client, peer] = host.ns ? [2379, 2380] : [await freePort(), await freePort()];
      members.push({ name: `etcd${i + 1}`, host, clientUrl: `http://${host.host}:${client}`, peerUrl: `http://${host.host}:${peer}`, proc: null });
    }
    const cluster = new EtcdCluster(dir, members);
    try {
      for (const m of members) cluster.spawn(m);
      await cluster.waitLeader(20_000);
    } catch (e) {
      await cluster.stop();
      throw e;
    }
    return cluster;
  }

  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** SIGKILL one member (a crash or power cut of its machine). */
  async kill(name: string): Promise<void> {
    const m = this.member(name);
    const p = m.proc;
    m.proc = null;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed member again on its data directory (it rejoins as itself). */
  async restart(name: string): Promise<void> {
    this.spawn(this.member(name));
    await this.waitLeader(20_000);
  }

  /** The member that leads now, asked of the members that run (the v3 JSON gateway's maintenance/status). */
  async leader(): Promise<string> {
    for (const m of this.members.filter((x) => x.proc)) {
      const s = await this.gateway(m, '/v3/maintenance/status', {}).catch(() => null);
      if (!s?.leader) continue;
      const list = await this.gateway(m, '/v3/cluster/member/list', {});
      const lead = list.members.find((x: { ID: string }) => x.ID === s.leader);
      if (lead) return lead.name;
    }
    throw new Error('no etcd member knows a leader');
  }

  /** The value of a key as text (null when absent), read through a running member's JSON gateway. */
  async get(key: string): Promise<string | null> {
    const m = this.members.find((x) => x.proc)!;
    const r = await this.gateway(m, '/v3/kv/range', { key: Buffer.from(key).toString('base64') });
    return r.kvs?.[0] ? Buffer.from(r.kvs[0].value, 'base64').toString('utf8') : null;
  }

  /** Keys under a prefix. */
  async keys(prefix: string): Promise<string[]> {
    const m = this.members.find((x) => x.proc)!;
    const end = Buffer.from(prefix);
    end[end.length - 1]++;
    const r = await this.gateway(m, '/v3/kv/range', { key: Buffer.from(prefix).toString('base64'), range_end: end.toString('base64'), keys_only: true });
    return (r.kvs ?? []).map((kv: { key: string }) => Buffer.from(kv.key, 'base64').toString('utf8'));
  }

  async stop(): Promise<void> {
    for (const m of this.members) await this.kill(m.name);
  }

  private member(name: string): EtcdMember {
    return this.members.find((m) => m.name === name)!;
  }

  private spawn(m: EtcdMember): void {
    const argv = [
      'etcd', '--name', m.name, '--data-dir', path.join(this.dir, m.name),
      '--listen-client-urls', m.clientUrl, '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', this.members.map((x) => `${x.name}=${x.peerUrl}`).join(','),
      '--initial-cluster-state', 'new', '--initial-cluster-token', `abu-test-${process.pid}`,
      // Short timers: an election after a killed leader takes about a second, not several.
      '--heartbeat-interval', '100', '--election-timeout', '1000',
    ];
    const full = m.host.ns ? ['ip', 'netns', 'exec', m.host.ns, ...argv] : argv;
    const proc = spawn(full[0], full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.pipe(createWriteStream(path.join(this.dir, `${m.name}.log`), { flags: 'a' }));
    m.proc = proc;
  }

  private async waitLeader(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const name = await this.leader().catch(() => null);
      if (name) return;
      if (Date.now() > end) throw new Error(`etcd cluster had no leader within ${timeoutMs} ms (logs in ${this.dir})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** POST to the member's gRPC-gateway with curl, run in the member's namespace (its address is only reachable there). */
  private async gateway(m: EtcdMember, route: string, body: unknown): Promise<any> {
    const argv = ['curl', '-sS', '--max-time', '3', '-X', 'POST', '-d', JSON.stringify(body), `${m.clientUrl}${route}`];
    const full = m.host.ns ? ['ip', 'netns', 'exec', m.host.ns, ...argv] : argv;
    const { stdout } = await run(full[0], full.slice(1));
    return JSON.parse(stdout);
  }
}

