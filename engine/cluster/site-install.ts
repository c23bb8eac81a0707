// Install by organization and data center: who is not yet on a bundle, and installs where the replica is verified.
import { AbuError, isAbuError } from '../core/errors';
import type { ApplianceStatus } from '../facade';
import type { MemberClientFactory } from './member-client';
import type { ReplicaMeta } from './replica-store';
import type { BundleReplication } from './replication-status';
import type { Site, SiteMember } from './site';

export interface InstallRequest {
  organizations: string[];
  /** "all" (the default) or one data center's name. */
  dataCenter: string;
  activate: boolean;
  acceptIrreversible: boolean;
}

export interface InstallReport {
  sha256: string;
  version: string;
  targets: string[];
  installed: { member: string; slot: string; version: string; activated: boolean }[];
  /** Not started because the member's replica is not verified yet (a warning, not a failure). */
  skipped: { member: string; reason: string }[];
  /** The member refused or failed: its own code and reason (e.g. its strict version chain). */
  refused: { member: string; code: string; message: string }[];
  /** Already running the bundle's version. */
  current: string[];
  warnings: string[];
}

export interface OrganizationView {
  name: string;
  dataCenters: string[];
  members: { member: string; dataCenter: string; version: string | null; onBundle: boolean }[];
  /** Members of the organization not yet running the bundle's version. */
  pending: string[];
}

export type StatusOf = (m: SiteMember) => Promise<ApplianceStatus | null>;

/** The organizations that have appliances not yet on the bundle (product-docs/001, step 2). */
export async function organizationsFor(site: Site, meta: ReplicaMeta, statusOf: StatusOf): Promise<OrganizationView[]> {
  const versions = new Map(await Promise.all(site.members.map(async (m) => [m.name, bootedVersion(await statusOf(m))] as const)));
  return site.organizations().map((name) => {
    const members = site.members.filter((m) => m.organizations.includes(name)).map((m) => {
      const version = versions.get(m.name) ?? null;
      return { member: m.name, dataCenter: m.dataCenter, version, onBundle: version === meta.version };
    });
    return { name, dataCenters: [...new Set(members.map((m) => m.dataCenter))], members, pending: members.filter((m) => !m.onBundle).map((m) => m.member) };
  }).filter((o) => o.pending.length > 0);
}

/** Starts the install on every target whose replica is verified; names every skipped and refusing member. */
export async function installByOrganization(site: Site, meta: ReplicaMeta, replication: BundleReplication, request: InstallRequest, clientOf: MemberClientFactory, statusOf: StatusOf): Promise<InstallReport> {
  const targets = selectTargets(site, request);
  const report: InstallReport = { sha256: meta.sha256, version: meta.version, targets: targets.map((m) => m.name), installed: [], skipped: [], refused: [], current: [], warnings: [] };
  await Promise.all(targets.map(async (m) => {
    const rec = replication.members.find((r) => r.member === m.name);
    if (rec?.state !== 'verified') {
      const pct = rec && rec.size > 0 ? Math.floor((100 * rec.have) / rec.size) : 0;
      report.skipped.push({ member: m.name, reason: `replication to ${m.name} is not complete (${rec?.state ?? 'not started'}, ${pct} %${rec?.error ? `: ${rec.error}` : ''})` });
      return;
    }
    if (bootedVersion(await statusOf(m)) === meta.version) return void report.current.push(m.name);
    try {
      const r = await clientOf(m).installReplica(meta.sha256, { activate: request.activate, acceptIrreversible: request.acceptIrreversible });
      report.installed.push({ member: m.name, slot: r.slot, version: r.version, activated: r.activated });
    } catch (e) {
      const code = isAbuError(e) ? e.code : 'ABU_ERR_INTERNAL';
      report.refused.push({ member: m.name, code, message: (e as Error).message });
    }
  }));
  if (report.skipped.length > 0) report.warnings.push(`replication is not complete on ${report.skipped.map((s) => s.member).join(', ')}: not installed there; install again once replicated`);
  for (const list of [report.installed, report.skipped, report.refused]) list.sort((a, b) => a.member.localeCompare(b.member));
  return report;
}

function selectTargets(site: Site, r: InstallRequest): SiteMember[] {
  if (r.organizations.length === 0) throw new AbuError('ABU_ERR_USAGE', 'name at least one organization to install in');
  const known = site.organizations();
  const unknown = r.organizations.filter((o) => !known.includes(o));
  if (unknown.length > 0) throw new AbuError('ABU_ERR_USAGE', `no member belongs to organization ${unknown.join(', ')}; organizations: ${known.join(', ')}`);
  if (r.dataCenter !== 'all' && !site.dataCenters().includes(r.dataCenter)) {
    throw new AbuError('ABU_ERR_USAGE', `no data center "${r.dataCenter}"; data centers: all, ${site.dataCenters().join(', ')}`);
  }
  return site.members.filter((m) => m.organizations.some((o) => r.organizations.includes(o)) && (r.dataCenter === 'all' || m.dataCenter === r.dataCenter));
}

export function bootedVersion(s: ApplianceStatus | null): string | null {
  return s?.slots.find((x) => x.name === s.booted)?.version ?? null;
}
