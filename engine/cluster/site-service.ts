// The site layer of one member, built from its config: replica store, member clients, and on the coordinator the replicator.
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import type { AbuConfig } from '../config';
import { AbuError } from '../core/errors';
import type { ApplianceStatus } from '../facade';
import type { SiteConfig } from '../site-config';
import { FileReplicaStore } from './file-replica-store';
import { HttpMemberClient } from './http-member-client';
import type { MemberClient } from './member-client';
import type { ReplicaMeta, ReplicaStore } from './replica-store';
import { Replicator } from './replicator';
import type { CoordinationStore } from './coordination-store';
import { EtcdCoordinationStore } from './etcd-coordination-store';
import { LocalCoordinationStore } from './local-coordination-store';
import { RolloutRunner } from './rollout-runner';
import { Site, type SiteMember } from './site';
import { bootedVersion } from './site-install';
import { discardInterruptedUploads } from './upload-leftovers';

export interface MemberView {
  name: string;
  dataCenter: string;
  role: SiteMember['role'];
  organizations: string[];
  haGroup: string | null;
  url: string;
  reachable: boolean;
  version: string | null;
  booted: string | null;
  operation: string | null;
  lastError: string | null;
}

export class SiteService {
  readonly site: Site;
  readonly store: ReplicaStore;
  /** Present only on the coordinator. */
  readonly replicator: Replicator | null;
  /** Present only on the coordinator: cluster activation and switch back, journaled in its coordination store. */
  readonly rollouts: RolloutRunner | null;
  private readonly coordination: CoordinationStore | null;
  private readonly clients = new Map<string, MemberClient>();
  /** Announced uploads a crash cut off (recover()), whose pulled bytes the members are asked to drop at start(). */
  private interrupted: string[] = [];
  private readonly stopping = new AbortController();

  constructor(readonly config: AbuConfig & { site: SiteConfig }) {
    this.site = new Site(config.site);
    this.store = new FileReplicaStore(path.join(config.stateDir, 'bundles'), config.site.bundleBudgetBytes, { keyringPath: config.site.keyring, product: config.product });
    this.replicator = this.site.isCoordinator ? new Replicator(this.site, this.store, (m) => this.clientOf(m)) : null;
    this.coordination = this.replicator ? coordinationStore(config) : null;
    this.rollouts = this.replicator ? new RolloutRunner(this.site, this.coordination!, (m) => this.clientOf(m), this.replicator) : null;
  }

  /** Before the daemon takes requests: clears what a killed daemon left in the bundle store (ReplicaStore.recover). */
  async recover(): Promise<void> {
    this.interrupted = await this.store.recover();
  }

  async start(): Promise<void> {
    await this.replicator?.start();
    await this.rollouts?.resume();
    if (this.replicator && this.interrupted.length > 0) void this.discardInterrupted(this.replicator);
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.rollouts?.stop();
    this.replicator?.stop();
    await this.coordination?.close?.();
  }

  /** In the background: members may be down now; the daemon does not wait for them to start. */
  private async discardInterrupted(replicator: Replicator): Promise<void> {
    const { retryBaseMs, retryMaxMs, maxAttempts } = this.site.config.replication;
    await discardInterruptedUploads(this.interrupted.splice(0), {
      members: this.site.members.filter((m) => m.name !== this.site.selfName), clientOf: (m) => this.clientOf(m),
      active: (sha) => replicator.statusOf(sha) !== null, retryBaseMs, retryMaxMs, maxAttempts, signal: this.stopping.signal,
    });
  }

  /** Calls carry this member's own site token; receivers decide whether the caller may do what it asks. */
  clientOf(m: SiteMember): MemberClient {
    let c = this.clients.get(m.name);
    if (!c) this.clients.set(m.name, (c = new HttpMemberClient(m, this.site.self.token!)));
    return c;
  }

  /** The coordinator's replicator; ABU_ERR_SITE_NOT_COORDINATOR on any other member. */
  coordinator(what: string): Replicator {
    this.site.requireCoordinator(what);
    return this.replicator!;
  }

  /**
   * Stores an upload after checking it (abu bundle, site keyring, product, every chunk) and replicates it. With
   * its SHA-256 and size announced, members start pulling once its head passed that check, while the rest still
   * arrives; if the rest then fails, the coordinator's copy is discarded and so are theirs (replica-follow.ts).
   */
  async upload(body: Readable, announced?: { sha256: string; size: number }): Promise<ReplicaMeta> {
    const replicator = this.coordinator('upload a bundle');
    if (!announced) {
      const meta = await this.store.add(body);
      replicator.replicate(meta);
      return meta;
    }
    let early = false;
    const stored = deferred();
    try {
      const meta = await this.store.addAnnounced(announced.sha256, announced.size, body, (head) => {
        early = true;
        replicator.replicate(head, stored.promise);
      });
      stored.resolve();
      replicator.replicate(meta);
      return meta;
    } catch (e) {
      stored.reject(e);
      if (early) replicator.discard(announced.sha256);
      throw e;
    }
  }

  /** A bundle by its SHA-256, a unique prefix of it (8+ hex digits) or its version. */
  async resolveBundle(id: string): Promise<ReplicaMeta> {
    const all = await this.store.list();
    const hits = all.filter((b) => b.sha256 === id || b.version === id || (id.length >= 8 && /^[0-9a-f]+$/.test(id) && b.sha256.startsWith(id)));
    if (hits.length === 1) return hits[0];
    if (hits.length > 1) throw new AbuError('ABU_ERR_USAGE', `"${id}" names ${hits.length} bundles; give the full SHA-256`);
    throw new AbuError('ABU_ERR_SITE_BUNDLE_UNKNOWN', `no bundle "${id}" in the site store; stored: ${all.map((b) => `${b.version} (${b.sha256.slice(0, 12)})`).join(', ') || 'none'}`);
  }

  /** A member's status, or null when it does not answer (down, rebooting). */
  async statusOf(m: SiteMember): Promise<ApplianceStatus | null> {
    return this.clientOf(m).status().catch(() => null);
  }

  async members(): Promise<MemberView[]> {
    return Promise.all(this.site.members.map(async (m) => {
      const s = await this.statusOf(m);
      return {
        ...this.site.publicMember(m), reachable: s !== null, version: bootedVersion(s), booted: s?.booted ?? null,
        operation: s?.operation ?? null, lastError: s?.lastError && !s.lastError.past ? `${s.lastError.code}: ${s.lastError.message}` : null,
      };
    }));
  }
}

/** The rollout journal and reboot slots: <stateDir>/cluster/ (the default), or the site's etcd. */
function coordinationStore(config: AbuConfig & { site: SiteConfig }): CoordinationStore {
  const c = config.site.coordination;
  return c.kind === 'etcd' ? new EtcdCoordinationStore(c) : new LocalCoordinationStore(path.join(config.stateDir, 'cluster'));
}

function deferred(): { promise: Promise<void>; resolve(): void; reject(e: unknown): void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((ok, fail) => ((resolve = ok), (reject = fail)));
  promise.catch(() => undefined); // the replicator awaits it only while the upload's pulls run
  return { promise, resolve, reject };
}
