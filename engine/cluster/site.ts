// The site as one member sees it: who it is, who coordinates, data centers, primaries, and whose token a call carries.
import { createHash, timingSafeEqual } from 'node:crypto';
import { AbuError } from '../core/errors';
import type { SiteConfig, SiteMember } from '../site-config';

export type { SiteConfig, SiteMember } from '../site-config';

/** Member fields safe to show anyone who can read the API (no token, no token digest). */
export interface PublicMember {
  name: string;
  url: string;
  dataCenter: string;
  organizations: string[];
  role: SiteMember['role'];
  haGroup: string | null;
}

export class Site {
  constructor(readonly config: SiteConfig) {}

  get selfName(): string {
    return this.config.self;
  }

  get self(): SiteMember {
    return this.member(this.config.self);
  }

  get coordinator(): SiteMember {
    return this.member(this.config.coordinator);
  }

  get isCoordinator(): boolean {
    return this.config.self === this.config.coordinator;
  }

  get members(): SiteMember[] {
    return this.config.members;
  }

  member(name: string): SiteMember {
    const m = this.config.members.find((x) => x.name === name);
    if (!m) throw new AbuError('ABU_ERR_SITE_MEMBER_UNKNOWN', `no site member is called "${name}"; members: ${this.config.members.map((x) => x.name).join(', ')}`);
    return m;
  }

  dataCenters(): string[] {
    return [...new Set(this.config.members.map((m) => m.dataCenter))];
  }

  primaryOf(dataCenter: string): SiteMember {
    return this.config.members.find((m) => m.dataCenter === dataCenter && m.role === 'primary')!;
  }

  /**
   * Where a member fetches its replicas from: a data center's primary from the coordinator, everyone else from
   * their data center's primary (so each byte crosses the link between data centers once). Null for the
   * coordinator, whose copy is the upload itself.
   */
  sourceOf(m: SiteMember): SiteMember | null {
    if (m.name === this.config.coordinator) return null;
    const primary = this.primaryOf(m.dataCenter);
    return m.name === primary.name ? this.coordinator : primary;
  }

  organizations(): string[] {
    return [...new Set(this.config.members.flatMap((m) => m.organizations))].sort();
  }

  /** Whether any HA group is configured: HA mode is then the rollout default. */
  hasHaGroups(): boolean {
    return this.config.members.some((m) => m.haGroup !== undefined);
  }

  /** The member whose token this is, or null (compared as SHA-256 digests in constant time). */
  callerOf(token: string): SiteMember | null {
    const digest = createHash('sha256').update(token).digest();
    let found: SiteMember | null = null;
    for (const m of this.config.members) {
      if (timingSafeEqual(digest, Buffer.from(m.tokenSha256, 'hex'))) found = m;
    }
    return found;
  }

  /** Throws ABU_ERR_SITE_NOT_COORDINATOR naming the coordinator, for calls only the coordinator serves. */
  requireCoordinator(what: string): void {
    if (this.isCoordinator) return;
    const c = this.coordinator;
    throw new AbuError('ABU_ERR_SITE_NOT_COORDINATOR', `${what}: this member is "${this.config.self}"; the site's coordinator is "${c.name}" at ${c.url}`, { details: { coordinator: c.name, url: c.url } });
  }

  publicMember(m: SiteMember): PublicMember {
    return { name: m.name, url: m.url, dataCenter: m.dataCenter, organizations: m.organizations, role: m.role, haGroup: m.haGroup ?? null };
  }
}
