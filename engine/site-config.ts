// The optional `site` section of the config (inline or in a shared site.json it names): members, coordinator, budgets.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AbuError } from './core/errors';

export type SiteRole = 'primary' | 'secondary' | 'node';

export interface SiteMember {
  name: string;
  /** Base URL of the member's `abu serve` (http or https). */
  url: string;
  /** The member's site credential; only the member itself needs it in clear (it presents it when it calls others; see site.token). */
  token?: string;
  /** SHA-256 (hex) of the token: what the other members check a call against. */
  tokenSha256: string;
  dataCenter: string;
  organizations: string[];
  role: SiteRole;
  /** Members of one HA group are never down at the same time during a cluster rollout. */
  haGroup?: string;
}

/** Where the rollout journal and the HA reboot slots live (engine/cluster/coordination-store.ts). */
export type CoordinationConfig = { kind: 'local' } | EtcdCoordinationConfig;

export interface EtcdCoordinationConfig {
  kind: 'etcd';
  /** Client URLs of the etcd members (http://host:port). */
  endpoints: string[];
  /** Key prefix of this site's journal and reboot slots, so several sites can share one etcd. */
  prefix: string;
  /** How long one store operation keeps trying while etcd cannot answer (a member down, an election). */
  timeoutMs: number;
}

export interface SiteConfig {
  /** This appliance's own name among the members. */
  self: string;
  /** The member that replicates bundles and runs rollouts; members take site commands only from it. */
  coordinator: string;
  /** Keyring every bundle of the site must be signed by (default: the appliance keyring). */
  keyring: string;
  members: SiteMember[];
  /** Most bytes the bundle store (complete and partial replicas) may hold. */
  bundleBudgetBytes: number;
  replication: { maxBytesPerSecond: number | null; retryBaseMs: number; retryMaxMs: number; maxAttempts: number; maxParallel: number };
  /** resendRebootSeconds: a member still up with its activation pending this long after its reboot was asked gets asked again. */
  rollout: { maxParallel: number; rebootTimeoutSeconds: number; pollMs: number; resendRebootSeconds: number };
  coordination: CoordinationConfig;
}

type Raw = Record<string, any>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const GIB = 1024 ** 3;

/** Validates the section; `file` (a shared site.json, relative to the config) supplies whatever the section leaves out. */
export function parseSiteConfig(section: Raw, abs: (p: string) => string, applianceKeyring: string): SiteConfig {
  if (typeof section !== 'object' || section === null || Array.isArray(section)) bad('site must be an object');
  const raw: Raw = section.file ? { ...readSiteFile(abs(String(section.file))), ...section } : section;
  const members = parseMembers(raw.members);
  if (raw.token !== undefined) ownToken(members, str(raw, 'self'), str(raw, 'token'));
  const names = new Set(members.map((m) => m.name));
  const self = str(raw, 'self');
  const coordinator = str(raw, 'coordinator');
  if (!names.has(self)) bad(`site.self "${self}" is not one of the members`);
  if (!names.has(coordinator)) bad(`site.coordinator "${coordinator}" is not one of the members`);
  if (!members.find((m) => m.name === self)!.token) bad(`site member "${self}" (this appliance) needs its token in clear: it presents it to the others`);
  checkPrimaries(members);
  return {
    self, coordinator, members,
    keyring: raw.keyring ? abs(str(raw, 'keyring')) : applianceKeyring,
    bundleBudgetBytes: int(raw.bundleBudgetBytes ?? 8 * GIB, 1, Number.MAX_SAFE_INTEGER, 'site.bundleBudgetBytes'),
    replication: {
      maxBytesPerSecond: raw.replication?.maxBytesPerSecond == null ? null : int(raw.replication.maxBytesPerSecond, 1024, Number.MAX_SAFE_INTEGER, 'site.replication.maxBytesPerSecond'),
      retryBaseMs: int(raw.replication?.retryBaseMs ?? 500, 10, 600_000, 'site.replication.retryBaseMs'),
      retryMaxMs: int(raw.replication?.retryMaxMs ?? 30_000, 10, 3_600_000, 'site.replication.retryMaxMs'),
      maxAttempts: int(raw.replication?.maxAttempts ?? 50, 1, 100_000, 'site.replication.maxAttempts'),
      maxParallel: int(raw.replication?.maxParallel ?? 32, 1, 10_000, 'site.replication.maxParallel'),
    },
    rollout: {
      maxParallel: int(raw.rollout?.maxParallel ?? 2, 1, 1000, 'site.rollout.maxParallel'),
      rebootTimeoutSeconds: int(raw.rollout?.rebootTimeoutSeconds ?? 900, 1, 86_400, 'site.rollout.rebootTimeoutSeconds'),
      pollMs: int(raw.rollout?.pollMs ?? 1000, 20, 60_000, 'site.rollout.pollMs'),
      resendRebootSeconds: int(raw.rollout?.resendRebootSeconds ?? 30, 1, 3600, 'site.rollout.resendRebootSeconds'),
    },
    coordination: parseCoordination(raw.coordination ?? { kind: 'local' }),
  };
}

/**
 * `site.token`: this member's own token in clear, kept in its own config, so the shared site file can hold only
 * digests (a member that reads it cannot impersonate the others).
 */
function ownToken(members: SiteMember[], self: string, token: string): void {
  const me = members.find((m) => m.name === self);
  if (!me) return; // reported below as an unknown self
  if (sha256(token) !== me.tokenSha256) bad(`site.token does not match the tokenSha256 the site lists for "${self}"`);
  me.token = token;
}

function parseCoordination(c: Raw): CoordinationConfig {
  if (c?.kind === 'local') return { kind: 'local' };
  if (c?.kind !== 'etcd') bad('site.coordination.kind must be "local" or "etcd"');
  const endpoints = c.endpoints;
  if (!Array.isArray(endpoints) || endpoints.length === 0) bad('site.coordination.endpoints must list the etcd client URLs');
  for (const e of endpoints) {
    // TLS to etcd would need a CA and client certificates in the config: not supported yet, so refused plainly.
    if (typeof e !== 'string' || !/^http:\/\/[^/]+$/.test(e)) bad(`site.coordination.endpoints: "${String(e)}" must be http://host:port`);
  }
  const prefix = c.prefix === undefined ? '/abu/site/' : str(c, 'prefix');
  return { kind: 'etcd', endpoints, prefix: prefix.endsWith('/') ? prefix : `${prefix}/`, timeoutMs: int(c.timeoutMs ?? 15_000, 100, 600_000, 'site.coordination.timeoutMs') };
}

function readSiteFile(file: string): Raw {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Raw;
  } catch (e) {
    throw new AbuError('ABU_ERR_CONFIG', `config: cannot read the site file ${file}: ${(e as Error).message}`, { cause: e });
  }
}

function parseMembers(raw: unknown): SiteMember[] {
  if (!Array.isArray(raw) || raw.length === 0) bad('site.members must list at least one member');
  const members = (raw as Raw[]).map(parseMember);
  const seen = new Set<string>();
  for (const m of members) {
    if (seen.has(m.name)) bad(`site member "${m.name}" is listed twice`);
    seen.add(m.name);
  }
  return members;
}

function parseMember(m: Raw): SiteMember {
  const name = str(m, 'name');
  if (!NAME.test(name)) bad(`site member name "${name}" must be 1-63 letters, digits, ".", "_" or "-"`);
  const url = str(m, 'url').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+$/.test(url)) bad(`site member "${name}": url must be http(s)://host[:port], not ${url}`);
  const token = m.token === undefined ? undefined : str(m, 'token');
  if (token !== undefined && token.length < 16) bad(`site member "${name}": token must be at least 16 characters`);
  const tokenSha256 = token ? sha256(token) : String(m.tokenSha256 ?? '').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(tokenSha256)) bad(`site member "${name}" needs a token or a tokenSha256 (64 hex digits)`);
  if (token && m.tokenSha256 && m.tokenSha256.toLowerCase() !== tokenSha256) bad(`site member "${name}": token and tokenSha256 disagree`);
  const role = str(m, 'role');
  if (role !== 'primary' && role !== 'secondary' && role !== 'node') bad(`site member "${name}": role must be primary, secondary or node`);
  const organizations = m.organizations ?? [];
  if (!Array.isArray(organizations) || organizations.some((o) => typeof o !== 'string' || !o)) bad(`site member "${name}": organizations must be a list of names`);
  const haGroup = m.haGroup === undefined ? undefined : str(m, 'haGroup');
  return { name, url, token, tokenSha256, dataCenter: str(m, 'dataCenter'), organizations, role, haGroup };
}

/** A data center's members fetch from its primary, which fetches from the coordinator: so every data center needs exactly one. */
function checkPrimaries(members: SiteMember[]): void {
  for (const dc of new Set(members.map((m) => m.dataCenter))) {
    const primaries = members.filter((m) => m.dataCenter === dc && m.role === 'primary');
    if (primaries.length !== 1) bad(`data center "${dc}" must have exactly one primary member (has ${primaries.length})`);
  }
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function str(obj: Raw, key: string): string {
  const v = obj?.[key];
  if (typeof v !== 'string' || v.length === 0) bad(`site: "${key}" must be a non-empty string`);
  return v;
}

function int(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${what} must be an integer in ${min}..${max}`);
  return v as number;
}

function bad(message: string): never {
  throw new AbuError('ABU_ERR_CONFIG', `config: ${message}`);
}
