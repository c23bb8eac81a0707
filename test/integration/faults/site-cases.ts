// Kill-point cases of the site layer on loopback: a coordinator (dc1 primary) and one member as `abu serve` daemons on
// their own simulated appliances (local coordination store). Replication with either end killed mid-transfer or after
// the member's verify; rollouts with the coordinator killed after its journal write and around a reboot request.
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FaultPointName } from '../../../engine/core/fault-point';
import { createSimSite, type SimSite, type SimSiteMember } from '../../../engine/sim/sim-site';
import { spawnAbu, waitFor, type AbuProcess } from '../lock/appliance-procs';
import { expectKilledAt, faultEnv } from './fault-procs';
import { bootedNow, checkHistory, checkInvariants, KnownImages, runsConfirmed, type Booted } from './invariants';

interface SiteCase {
  name: string;
  point: FaultPointName;
  count?: number;
  /** Which daemon the point kills. */
  victim: 'c' | 'n';
  /** Only in the whole campaign (scripts/kill-campaign): the other member's turn at a point CI already kills. */
  full?: true;
}

export const SITE_CASES: SiteCase[] = [
  { name: 'coordinator killed mid-transfer of a replica', point: 'replication.send-mid-transfer', count: 3, victim: 'c' },
  { name: 'member killed mid-transfer of its replica', point: 'replication.receive-mid-transfer', count: 3, victim: 'n' },
  { name: 'member killed after verifying its replica', point: 'replication.after-verify', victim: 'n' },
  { name: 'coordinator killed after journaling a rollout', point: 'rollout.after-journal', victim: 'c' },
  { name: 'coordinator killed before asking the member to reboot (switch back)', point: 'rollout.before-reboot-request', count: 2, victim: 'c' },
  { name: 'coordinator killed after asking itself to reboot (switch back)', point: 'rollout.after-reboot-request', count: 1, victim: 'c' },
  { name: 'coordinator killed before asking itself to reboot (switch back)', point: 'rollout.before-reboot-request', count: 1, victim: 'c', full: true },
  { name: 'coordinator killed after asking the member to reboot (switch back)', point: 'rollout.after-reboot-request', count: 2, victim: 'c', full: true },
];

type Run = { name: string; point: FaultPointName; violations: string[] };

export class SiteDaemons {
  readonly procs = new Map<string, AbuProcess>();
  constructor(readonly site: SimSite) {}

  member(name: 'c' | 'n'): SimSiteMember {
    return this.site.members.find((m) => m.name === name)!;
  }

  /** `abu serve` on the member's configured port (the site file names it); resolves once it listens. */
  async start(name: 'c' | 'n', env?: NodeJS.ProcessEnv): Promise<AbuProcess> {
    const p = spawnAbu(['serve', '--config', this.member(name).sim.configPath, '--json'], { env });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: p.child.stdout! }).once('line', () => resolve());
      void p.exit.then((e) => reject(new Error(`${name}: abu serve exited with ${e.code}: ${e.stderr}`)));
    });
    this.procs.set(name, p);
    return p;
  }

  /** SIGTERM (an orderly stop), SIGKILL after 5 s. */
  async stop(name: 'c' | 'n'): Promise<void> {
    const p = this.procs.get(name);
    if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill('SIGTERM');
    const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
    await p.exit;
    clearTimeout(t);
  }

  async stopAll(): Promise<void> {
    await this.stop('c');
    await this.stop('n');
  }

  async api(name: 'c' | 'n', method: string, route: string, body?: unknown): Promise<any> {
    const m = this.member(name);
    const raw = Buffer.isBuffer(body);
    const res = await fetch(m.url + route, {
      method,
      headers: { authorization: `Bearer ${m.operatorToken}`, ...(body === undefined ? {} : { 'content-type': raw ? 'application/octet-stream' : 'application/json' }) },
      body: body === undefined ? undefined : raw ? (body as Buffer) : JSON.stringify(body),
    });
    const json = await res.json();
    if (res.status >= 300) throw new Error(`${name} ${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
}

/** The site cases one after another on one small site (each starts where the previous one left the site). */
export async function runSiteCases(dir: string, full: boolean): Promise<Run[]> {
  const site = await createSimSite(dir, {
    members: [
      { name: 'c', dataCenter: 'dc1', role: 'primary', organizations: ['acme'] },
      { name: 'n', dataCenter: 'dc1', role: 'secondary', organizations: ['acme'] },
    ],
    slotSize: 8 * 1024 * 1024,
    imageSize: 6 * 1024 * 1024,
    extra: {
      replication: { maxBytesPerSecond: null, retryBaseMs: 200, retryMaxMs: 1000, maxAttempts: 500 },
      rollout: { maxParallel: 1, rebootTimeoutSeconds: 120, pollMs: 200, resendRebootSeconds: 2 },
    },
  });
  const d = new SiteDaemons(site);
  const images = await KnownImages.load(site.members.map((m) => m.sim));
  const bundle = await fs.readFile(site.bundles[0]);
  const sha = createHash('sha256').update(bundle).digest('hex');
  const runs: Run[] = [];
  try {
    for (const c of SITE_CASES.filter((x) => full || !x.full)) {
      const booted = { c: await bootedNow(d.member('c').sim), n: await bootedNow(d.member('n').sim) };
      const violations = c.point.startsWith('replication.') ? await replicationCase(d, c, bundle, sha) : await rolloutCase(d, c);
      violations.push(...(await memberChecks(d, images, booted, c)));
      runs.push({ name: c.name, point: c.point, violations });
    }
  } finally {
    await d.stopAll();
  }
  return runs;
}

/** Upload at the coordinator with the victim armed; after the kill and its restart the replica must end verified on both. */
async function replicationCase(d: SiteDaemons, c: SiteCase, bundle: Buffer, sha: string): Promise<string[]> {
  const other = c.victim === 'c' ? 'n' : 'c';
  if (!d.procs.has(other)) await d.start(other);
  await d.stop(c.victim);
  const armed = await d.start(c.victim, faultEnv(c.point, c.count));
  await d.api('c', 'POST', '/api/site/bundles', bundle).catch(() => undefined); // the coordinator may die while it answers
  await expectKilledAt(armed, c.point);
  const v = await replicaClaims(d, sha);
  await d.start(c.victim);
  await waitFor('the replica verified on both members', async () => (await d.api('c', 'GET', `/api/site/bundles/${sha}`)).replication?.replications === '2/2', 60_000);
  v.push(...(await replicaClaims(d, sha)));
  if (!(await fs.access(replicaFile(d, 'n', sha, 'json')).then(() => true, () => false))) v.push('the member holds no verified replica after the restart');
  // The next case uploads again (the replica must be sent anew); the last replication case leaves it for the rollouts.
  if (c.point !== 'replication.after-verify') await d.api('c', 'DELETE', `/api/site/bundles/${sha}`);
  return v;
}

/** A replica the member lists as verified (its .json) must be the bundle's exact bytes. */
async function replicaClaims(d: SiteDaemons, sha: string): Promise<string[]> {
  const claimed = await fs.access(replicaFile(d, 'n', sha, 'json')).then(() => true, () => false);
  if (!claimed) return [];
  const bytes = await fs.readFile(replicaFile(d, 'n', sha, 'abu')).catch(() => Buffer.alloc(0));
  return createHash('sha256').update(bytes).digest('hex') === sha ? [] : ['the member lists a replica as verified whose bytes are not the bundle'];
}

function replicaFile(d: SiteDaemons, name: 'c' | 'n', sha: string, ext: string): string {
  return path.join(d.member(name).sim.dir, 'state', 'bundles', `${sha}.${ext}`);
}

/** The coordinator armed; a rollout (activate 1.1.0 first, then switch backs) killed at the point; restarted, it must finish. */
async function rolloutCase(d: SiteDaemons, c: SiteCase): Promise<string[]> {
  await d.stop('c');
  const armed = await d.start('c', faultEnv(c.point, c.count));
  const begin = c.point === 'rollout.after-journal' ? d.api('c', 'POST', '/api/cluster/activate', {}) : d.api('c', 'POST', '/api/cluster/switch-back', {});
  await begin.catch(() => undefined); // killed while it answers, for the journal point
  await expectKilledAt(armed, c.point);
  await d.start('c');
  const done = await waitFor('the resumed rollout to end', async () => {
    const r = (await d.api('c', 'GET', '/api/cluster/rollout')).rollout;
    return r && r.state !== 'running' && r.state !== 'stopping' ? r : null;
  }, 90_000);
  const v: string[] = [];
  if (done.state !== 'succeeded') v.push(`the resumed rollout ended ${done.state}: ${done.error}`);
  const target = done.members.c.target as string;
  for (const name of ['c', 'n'] as const) {
    if (!runsConfirmed(await d.api(name, 'GET', '/api/status'), target)) v.push(`${name} does not run ${target}, confirmed, after the rollout`);
  }
  return v;
}

/** The appliance invariants on both members, and their history: only an operation killed under the lock shows as interrupted. */
async function memberChecks(d: SiteDaemons, images: KnownImages, booted: { c: Booted; n: Booted }, c: SiteCase): Promise<string[]> {
  const v: string[] = [];
  for (const name of ['c', 'n'] as const) {
    const sim = d.member(name).sim;
    // A rollout reboots members on purpose: their booted slot is checked against the one running now.
    const base = c.point.startsWith('rollout.') ? await bootedNow(sim) : booted[name];
    v.push(...(await checkInvariants(sim, images, base)).map((x) => `${name}: ${x}`));
    // The coordinator killed right after asking itself to reboot may or may not have begun that reboot.
    const interrupted = c.point === 'rollout.after-reboot-request' && name === 'c' ? 'maybe' : false;
    v.push(...(await checkHistory(sim, { interrupted })).map((x) => `${name}: ${x}`));
  }
  return v;
}
