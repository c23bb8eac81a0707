// Test harness: a site of six simulated appliances in two data centers, each behind its own real `abu serve`.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { sha256 } from '../../../engine/site-config';
import { MemberProcess } from './member-process';
import { DEFAULT_IMPAIRMENT, impairmentFromEnv, type LinkImpairment } from './link-impairment';
import { createTestNetwork, type TestNetwork } from './test-network';

const MIB = 1024 * 1024;

export interface MemberSpec {
  name: string;
  dc: number;
  role: 'primary' | 'secondary' | 'node';
  organizations: string[];
  haGroup?: string;
}

/** Two data centers; dc1-a coordinates; HA pairs dc1-b/dc1-c and dc2-b/dc2-c. */
export const SITE_LAYOUT: MemberSpec[] = [
  { name: 'dc1-a', dc: 1, role: 'primary', organizations: ['acme'] },
  { name: 'dc1-b', dc: 1, role: 'secondary', organizations: ['acme'], haGroup: 'ha1' },
  { name: 'dc1-c', dc: 1, role: 'node', organizations: ['globex'], haGroup: 'ha1' },
  { name: 'dc2-a', dc: 2, role: 'primary', organizations: ['acme'] },
  { name: 'dc2-b', dc: 2, role: 'secondary', organizations: ['acme'], haGroup: 'ha2' },
  { name: 'dc2-c', dc: 2, role: 'node', organizations: ['globex'], haGroup: 'ha2' },
];

export interface HarnessMember extends MemberSpec {
  sim: SimAppliance;
  /** Site token (member-to-member) and operator token (http.token) of this member. */
  siteToken: string;
  operatorToken: string;
  proc: MemberProcess;
}

export interface Reply {
  status: number;
  json: any;
}

export interface SiteHarness {
  dir: string;
  net: TestNetwork;
  members: HarnessMember[];
  member(name: string): HarnessMember;
  /** Signed for the site (the shared keyring): 1.1.0 (from 1.0.0), 1.2.0 (from 1.1.0, irreversible). */
  bundles: { v110: string; v120: string };
  /** A bundle signed by a key the site does not know. */
  foreignBundle: string;
  call(name: string, method: string, route: string, o?: { json?: unknown; body?: Buffer; token?: string | null; headers?: Record<string, string> }): Promise<Reply>;
  teardown(): Promise<void>;
}

export interface HarnessOptions {
  downtimeMs: number;
  maxBytesPerSecond: number;
  /** Delay and loss between the data centers (namespaces only); default DEFAULT_IMPAIRMENT, null for none. */
  link?: LinkImpairment | null;
}

export async function startSite(o: HarnessOptions): Promise<SiteHarness> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-site-'));
  const net = await createTestNetwork(dir, 2, impairmentFromEnv(o.link === undefined ? DEFAULT_IMPAIRMENT : o.link));
  const members: HarnessMember[] = [];
  const h: SiteHarness = {
    dir, net, members, bundles: { v110: '', v120: '' }, foreignBundle: '',
    member: (name) => members.find((m) => m.name === name)!,
    call: (name, method, route, c) => call(h.member(name), method, route, c),
    teardown: async () => {
      await Promise.all(members.map((m) => m.proc.stop()));
      await net.teardown();
      if (!process.env.ABU_KEEP_SITE) await fs.rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await build(h, o);
  } catch (e) {
    await h.teardown();
    throw e;
  }
  return h;
}

async function build(h: SiteHarness, o: HarnessOptions): Promise<void> {
  const sims: SimAppliance[] = [];
  for (const spec of SITE_LAYOUT) sims.push(await createSimAppliance(path.join(h.dir, spec.name), { slotSize: 4 * MIB, imageSize: 3 * MIB }));
  // One keyring for the site: the first appliance's key signs the site's bundles.
  const keyring = path.join(h.dir, 'site-keys');
  await fs.cp(sims[0].keyringPath, keyring, { recursive: true, filter: (f) => !f.endsWith('.key') });
  h.bundles = { v110: sims[0].bundles[0], v120: sims[0].bundles[1] };
  h.foreignBundle = sims[1].bundles[0];
  const endpoints = [];
  for (const [i, spec] of SITE_LAYOUT.entries()) endpoints.push(await h.net.endpoint(i + 1, spec.dc));
  const tokens = SITE_LAYOUT.map(() => randomBytes(18).toString('base64url'));
  await fs.writeFile(path.join(h.dir, 'site.json'), JSON.stringify(siteFile(endpoints.map((e) => e.url), tokens, o), null, 2));
  for (const [i, spec] of SITE_LAYOUT.entries()) {
    const sim = sims[i];
    const operatorToken = randomBytes(18).toString('base64url');
    await editMemberConfig(sim, { keyring, operatorToken, siteToken: tokens[i], name: spec.name, host: endpoints[i].host, port: endpoints[i].port });
    const proc = new MemberProcess(spec.name, sim.configPath, sim.dir, endpoints[i], h.net, o.downtimeMs);
    h.members.push({ ...spec, sim, siteToken: tokens[i], operatorToken, proc });
  }
  await Promise.all(h.members.map((m) => m.proc.start()));
}

/** The shared site description: only token digests, so reading it gives no member's credential. */
function siteFile(urls: string[], tokens: string[], o: HarnessOptions): unknown {
  return {
    coordinator: 'dc1-a',
    members: SITE_LAYOUT.map((s, i) => ({ name: s.name, url: urls[i], tokenSha256: sha256(tokens[i]), dataCenter: `dc${s.dc}`, organizations: s.organizations, role: s.role, ...(s.haGroup ? { haGroup: s.haGroup } : {}) })),
    bundleBudgetBytes: 40 * MIB,
    replication: { maxBytesPerSecond: o.maxBytesPerSecond, retryBaseMs: 200, retryMaxMs: 1000, maxAttempts: 500 },
    rollout: { maxParallel: 2, rebootTimeoutSeconds: 60, pollMs: 150 },
  };
}

async function editMemberConfig(sim: SimAppliance, m: { keyring: string; operatorToken: string; siteToken: string; name: string; host: string; port: number }): Promise<void> {
  const config = JSON.parse(await fs.readFile(sim.configPath, 'utf8'));
  config.keyring = m.keyring;
  config.http = { host: m.host, port: m.port, token: m.operatorToken };
  // The reboot is the harness's job (member-process.ts): the member only asks for it.
  config.reboot = { command: ['touch', path.join(sim.dir, 'reboot-requested')] };
  config.site = { file: '../site.json', self: m.name, token: m.siteToken };
  // A test switch: with this file present the new image (slot B) fails its health check on this member.
  config.healthChecks.push({ name: 'new-image', command: `test ! -e ${path.join(sim.dir, 'fail-new-image')} || test "$ABU_BOOTED_SLOT" = A`, timeoutSeconds: 10 });
  await fs.writeFile(sim.configPath, JSON.stringify(config, null, 2));
}

/** HTTP to a member from the test: through its forwarded unix socket in namespaces, else straight to its port. */
function call(m: HarnessMember, method: string, route: string, c: { json?: unknown; body?: Buffer; token?: string | null; headers?: Record<string, string> } = {}): Promise<Reply> {
  const ep = m.proc.endpoint;
  const body = c.json !== undefined ? Buffer.from(JSON.stringify(c.json)) : c.body;
  const headers: Record<string, string> = { ...(c.headers ?? {}) };
  const token = c.token === undefined ? m.operatorToken : c.token;
  if (token) headers.authorization = `Bearer ${token}`;
  if (c.json !== undefined) headers['content-type'] = 'application/json';
  else if (c.body) headers['content-type'] ??= 'application/octet-stream';
  if (body) headers['content-length'] = String(body.length);
  const target = ep.socketPath ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port };
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, path: route, method, headers, timeout: 120_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        let json: unknown = text;
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}
