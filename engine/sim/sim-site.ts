// A simulated site (issue 9): several simulated appliances sharing one site description (site.json, token digests
// only) and one keyring, each configured for its own `abu serve` on a loopback port. Made for `abu sim site` (the
// demo) and the site benchmark; the cluster test suite builds its own in network namespaces.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { AbuError } from '../core/errors';
import type { SiteRole } from '../site-config';
import { sha256 } from '../site-config';
import { createSimAppliance, type SimAppliance } from './create-sim-appliance';
import { removeSimAppliance } from './sim-folder';

const MIB = 1024 * 1024;

export interface SimSiteMemberSpec {
  name: string;
  dataCenter: string;
  role: SiteRole;
  organizations: string[];
  haGroup?: string;
}

/**
 * The demo site: two data centers of two appliances (product-docs/001) and a three-node cluster with one HA pair
 * (product-docs/002), one site with the first data center's primary as coordinator.
 */
export const DEMO_SITE: SimSiteMemberSpec[] = [
  { name: 'dc1-primary', dataCenter: 'dc1', role: 'primary', organizations: ['acme', 'globex'] },
  { name: 'dc1-secondary', dataCenter: 'dc1', role: 'secondary', organizations: ['acme'] },
  { name: 'dc2-primary', dataCenter: 'dc2', role: 'primary', organizations: ['acme', 'globex'] },
  { name: 'dc2-secondary', dataCenter: 'dc2', role: 'secondary', organizations: ['globex'] },
  { name: 'cluster-1', dataCenter: 'cluster', role: 'primary', organizations: ['initech'] },
  { name: 'cluster-2', dataCenter: 'cluster', role: 'node', organizations: ['initech'], haGroup: 'ha1' },
  { name: 'cluster-3', dataCenter: 'cluster', role: 'node', organizations: ['initech'], haGroup: 'ha1' },
];

export interface SimSiteOptions {
  members?: SimSiteMemberSpec[];
  /** Default: the first member. */
  coordinator?: string;
  /** First port (members get consecutive ones); 0 picks a free port per member. */
  basePort?: number;
  slotSize?: number;
  imageSize?: number;
  bundleBudgetBytes?: number;
  /** Extra keys of the site description (replication, rollout, coordination). */
  extra?: Record<string, unknown>;
}

export interface SimSiteMember extends SimSiteMemberSpec {
  sim: SimAppliance;
  url: string;
  port: number;
  /** Member-to-member credential (kept in the member's own config; site.json holds its digest). */
  siteToken: string;
  /** The operator's token for this member's API and pages (http.token). */
  operatorToken: string;
}

export interface SimSite {
  dir: string;
  coordinator: string;
  members: SimSiteMember[];
  /** Bundles signed by the site key: 1.1.0 (from 1.0.0), 1.2.0 (from 1.1.0, irreversible). */
  bundles: string[];
  /** The site key (PKCS#8), for signing more bundles for the site. */
  privateKeyPath: string;
}

export async function createSimSite(dir: string, o: SimSiteOptions = {}): Promise<SimSite> {
  const specs = o.members ?? DEMO_SITE;
  const coordinator = o.coordinator ?? specs[0].name;
  await fs.mkdir(dir, { recursive: true });
  const sims: SimAppliance[] = [];
  for (const spec of specs) sims.push(await createSimAppliance(path.join(dir, spec.name), { slotSize: o.slotSize ?? 8 * MIB, imageSize: o.imageSize ?? 6 * MIB }));
  // One keyring for the site: the first appliance's key signs the site's bundles (its private key stays out).
  const keyring = path.join(dir, 'site-keys');
  await fs.cp(sims[0].keyringPath, keyring, { recursive: true, filter: (f) => !f.endsWith('.key') });
  const members: SimSiteMember[] = [];
  for (const [i, spec] of specs.entries()) {
    const port = o.basePort ? o.basePort + i : await freePort();
    members.push({ ...spec, sim: sims[i], port, url: `http://127.0.0.1:${port}`, siteToken: token(), operatorToken: token() });
  }
  const site = {
    coordinator,
    members: members.map((m) => ({ name: m.name, url: m.url, tokenSha256: sha256(m.siteToken), dataCenter: m.dataCenter, organizations: m.organizations, role: m.role, ...(m.haGroup ? { haGroup: m.haGroup } : {}) })),
    bundleBudgetBytes: o.bundleBudgetBytes ?? 256 * MIB,
    ...(o.extra ?? {}),
  };
  await fs.writeFile(path.join(dir, 'site.json'), JSON.stringify(site, null, 2) + '\n');
  for (const m of members) await memberConfig(m, keyring);
  return { dir, coordinator, members, bundles: sims[0].bundles, privateKeyPath: sims[0].privateKeyPath };
}

/** The member's own config: the site keyring, its port and operator token, and its place in the shared site file. */
async function memberConfig(m: SimSiteMember, keyring: string): Promise<void> {
  const config = JSON.parse(await fs.readFile(m.sim.configPath, 'utf8'));
  config.keyring = keyring;
  config.http = { host: '127.0.0.1', port: m.port, token: m.operatorToken };
  config.site = { file: '../site.json', self: m.name, token: m.siteToken };
  await fs.writeFile(m.sim.configPath, JSON.stringify(config, null, 2) + '\n');
}

/**
 * Deletes a simulated site: every member appliance (each refused while a daemon or operation uses it, see
 * sim-folder.ts), then the shared files. A folder holding anything else is not a simulated site and is left alone.
 */
export async function removeSimSite(dir: string): Promise<void> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw new AbuError('ABU_ERR_IO', `cannot read ${dir}: ${e.message}`, { cause: e });
  });
  if (entries === null) return;
  const shared = new Set(['site.json', 'site-keys', 'logs']);
  const members = entries.filter((e) => e.isDirectory() && !shared.has(e.name));
  const foreign = entries.filter((e) => !shared.has(e.name) && !members.includes(e));
  if (foreign.length > 0 || (entries.length > 0 && !entries.some((e) => e.name === 'site.json'))) {
    throw new AbuError('ABU_ERR_USAGE', `not removing ${dir}: it is not a simulated site (no site.json, or it holds ${foreign.map((e) => e.name).slice(0, 3).join(', ')})`);
  }
  for (const m of members) await removeSimAppliance(path.join(dir, m.name));
  await fs.rm(dir, { recursive: true, force: true });
}

function token(): string {
  return randomBytes(18).toString('base64url');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
