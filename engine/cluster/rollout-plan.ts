// Rollout planning (pure): member order, which waiting member may start now, and the cluster-wide switch-back check.
import { randomUUID } from 'node:crypto';
import * as semver from 'semver';
import type { ApplianceStatus } from '../facade';
import type { Rollout, RolloutMember } from './coordination-store';
import type { Site, SiteMember } from './site';

const ROLE_RANK: Record<SiteMember['role'], number> = { primary: 0, secondary: 1, node: 2 };

/** The coordinator first (product-docs/002: the primary activates itself first), then primaries, secondaries, nodes. */
export function rolloutOrder(site: Site): string[] {
  const others = site.members.filter((m) => m.name !== site.coordinator.name);
  others.sort((a, b) => ROLE_RANK[a.role] - ROLE_RANK[b.role] || a.dataCenter.localeCompare(b.dataCenter) || a.name.localeCompare(b.name));
  return [site.coordinator.name, ...others.map((m) => m.name)];
}

export function newRollout(site: Site, o: { kind: Rollout['kind']; sha256: string | null; version: string | null; ha: boolean; acceptIrreversible: boolean; targets: Record<string, string | null> }): Rollout {
  const order = rolloutOrder(site);
  const members: Record<string, RolloutMember> = {};
  for (const name of order) {
    members[name] = { name, phase: 'waiting', target: o.targets[name] ?? null, detail: 'waiting', percent: null, rebootAskedAt: null, startedAt: null, finishedAt: null };
  }
  return { id: randomUUID(), kind: o.kind, sha256: o.sha256, version: o.version, ha: o.ha, acceptIrreversible: o.acceptIrreversible, state: 'running', error: null, startedAt: new Date().toISOString(), finishedAt: null, order, members };
}

export function isInFlight(m: RolloutMember): boolean {
  return m.phase === 'downloading' || m.phase === 'installing' || m.phase === 'rebooting';
}

/**
 * Waiting members that may start now, in order: none once the rollout stopped, at most `maxParallel` in flight,
 * and in HA mode only members whose HA group's reboot slot is free or already theirs.
 */
export function startable(r: Rollout, site: Site, slots: Record<string, string[]>, running: ReadonlySet<string>, maxParallel: number): string[] {
  if (r.state !== 'running') return [];
  const out: string[] = [];
  // Holders per HA group: those in the store, plus the members picked here (a slot holds one member).
  const holders = new Map(Object.entries(slots).map(([group, names]) => [group, [...names]]));
  for (const name of r.order.slice(1)) {
    if (running.size + out.length >= maxParallel) break;
    if (r.members[name].phase !== 'waiting' || running.has(name)) continue;
    const group = site.member(name).haGroup;
    if (r.ha && group !== undefined) {
      const held = holders.get(group) ?? [];
      if (held.length > 0 && !held.includes(name)) continue;
      holders.set(group, [name]);
    }
    out.push(name);
  }
  return out;
}

/**
 * Switch back is all or nothing: refused for the whole cluster when any member cannot boot its alternate image
 * (nothing verified there, or a version below that member's irreversible floor) or does not answer.
 */
export function switchBackRefusals(site: Site, statuses: Map<string, ApplianceStatus | null>): { member: string; reason: string }[] {
  const out: { member: string; reason: string }[] = [];
  for (const m of site.members) {
    const s = statuses.get(m.name);
    if (!s) {
      out.push({ member: m.name, reason: 'does not answer' });
      continue;
    }
    const alt = s.slots.find((x) => x.name === s.alternate);
    if (!alt?.version || alt.image === 'empty' || alt.image === 'incomplete') out.push({ member: m.name, reason: `its alternate image (slot ${s.alternate}) holds no verified release` });
    else if (s.floor && semver.valid(alt.version) && semver.lt(alt.version, s.floor)) out.push({ member: m.name, reason: `its alternate image ${alt.version} is below its irreversible floor ${s.floor}` });
  }
  return out;
}
