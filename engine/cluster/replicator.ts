// The coordinator's replication: every member pulls at once, a data center's primary from the coordinator and the
// others from that primary while it still receives, so the hops overlap and each byte crosses between data centers once.
import { setMaxListeners } from 'node:events';
import { AbuError } from '../core/errors';
import type { MemberClientFactory, PullResult } from './member-client';
import { PullGate } from './pull-gate';
import type { ReplicaMeta, ReplicaStore } from './replica-store';
import { newRecord, summarize, type BundleReplication, type MemberReplication } from './replication-status';
import type { Site, SiteMember } from './site';

interface Job {
  meta: ReplicaMeta;
  records: Map<string, MemberReplication>;
  controller: AbortController;
  /** The running pass over the members; a member that failed for good is retried by a new pass. */
  running: Promise<void> | null;
  /** Settles once the coordinator's own copy is stored (an upload still arriving while members pull it). */
  stored: Promise<unknown>;
}

export class Replicator {
  private readonly jobs = new Map<string, Job>();
  /** Pulls in progress at once (site.replication.maxParallel), across every bundle. */
  private readonly gate: PullGate;

  constructor(private readonly site: Site, private readonly store: ReplicaStore, private readonly clientOf: MemberClientFactory) {
    this.gate = new PullGate(site.config.replication.maxParallel);
  }

  /** Picks up every stored bundle (a restarted coordinator carries on where members stand). */
  async start(): Promise<void> {
    for (const meta of await this.store.list()) this.replicate(meta);
  }

  stop(): void {
    for (const job of this.jobs.values()) job.controller.abort(new AbuError('ABU_ERR_CANCELLED', 'the coordinator is stopping'));
  }

  /**
   * Starts (or restarts the failed members of) the replication of a stored bundle, or of an upload whose head
   * passed its check and whose rest is still arriving: `stored` settles when it is stored (discard() if it fails).
   */
  replicate(meta: ReplicaMeta, stored: Promise<unknown> = Promise.resolve()): void {
    let job = this.jobs.get(meta.sha256);
    if (job && meta.storedAt) job.meta = meta; // the stored bundle's record replaces the upload's head
    if (!job) {
      job = { meta, records: new Map(), controller: new AbortController(), running: null, stored };
      setMaxListeners(0, job.controller.signal); // one listener per member waiting at the gate or in a backoff
      for (const m of this.site.members) job.records.set(m.name, newRecord(m.name, m.dataCenter, (this.site.sourceOf(m) ?? m).name, meta.size));
      this.jobs.set(meta.sha256, job);
    }
    if (job.running) return;
    const current = job;
    // Sources first, so a member admitted by the gate finds its source receiving (replica-follow.ts serves it
    // what has arrived) and no place is held by a member waiting for a source still queued behind it.
    const pending = this.site.members.filter((m) => current.records.get(m.name)!.state !== 'verified').sort((a, b) => this.hops(a) - this.hops(b));
    job.running = Promise.all(pending.map((m) => this.ensure(current, m))).then(() => undefined).finally(() => (current.running = null));
  }

  status(): BundleReplication[] {
    return [...this.jobs.values()].map((j) => this.summary(j));
  }

  statusOf(sha256: string): BundleReplication | null {
    const job = this.jobs.get(sha256);
    return job ? this.summary(job) : null;
  }

  /** Resolves once `member` verified its replica (restarting a failed transfer); throws if it fails again. */
  async awaitMember(sha256: string, member: string, signal?: AbortSignal): Promise<void> {
    const job = this.jobs.get(sha256);
    if (!job) throw new AbuError('ABU_ERR_SITE_BUNDLE_UNKNOWN', `no bundle ${sha256.slice(0, 16)}… in the site store`);
    if (job.records.get(member)?.state === 'failed') this.replicate(job.meta);
    for (;;) {
      const rec = job.records.get(member)!;
      if (rec.state === 'verified') return;
      if (rec.state === 'failed' && !job.running) throw new AbuError('ABU_ERR_SITE_REPLICA_MISSING', `replication of ${job.meta.version} to ${member} failed: ${rec.error}`, { details: { member } });
      if (signal?.aborted) throw signal.reason;
      await sleep(200);
    }
  }

  /**
   * Forgets an upload that failed after its members began pulling it: they read "discarded" from the coordinator
   * (its partial file is gone) and drop their bytes themselves, and their own members after them.
   */
  discard(sha256: string): void {
    this.jobs.get(sha256)?.controller.abort(new AbuError('ABU_ERR_CANCELLED', 'the upload failed its check'));
    this.jobs.delete(sha256);
  }

  /** Stops replicating and deletes the bundle from every member; members that could not be reached are named. */
  async remove(sha256: string): Promise<{ removed: string[]; failed: { member: string; error: string }[] }> {
    const job = this.jobs.get(sha256);
    job?.controller.abort(new AbuError('ABU_ERR_CANCELLED', 'the bundle was removed'));
    await job?.running?.catch(() => undefined);
    this.jobs.delete(sha256);
    const removed: string[] = [];
    const failed: { member: string; error: string }[] = [];
    await Promise.all(this.site.members.map(async (m) => {
      try {
        if (m.name === this.site.selfName) await this.store.remove(sha256);
        else await this.clientOf(m).removeReplica(sha256);
        removed.push(m.name);
      } catch (e) {
        failed.push({ member: m.name, error: (e as Error).message });
      }
    }));
    return { removed: removed.sort(), failed };
  }

  private summary(job: Job): BundleReplication {
    return summarize(job.meta.sha256, job.meta.version, job.meta.size, [...job.records.values()]);
  }

  /** Transfers until the member verified its replica, retrying with exponential backoff. */
  private async ensure(job: Job, m: SiteMember): Promise<void> {
    const rec = job.records.get(m.name)!;
    const { retryBaseMs, retryMaxMs, maxAttempts } = this.site.config.replication;
    for (let attempt = 1; !job.controller.signal.aborted; attempt++) {
      try {
        const done = await this.admitted(job, () => this.attempt(job, m, rec));
        if (done.state.state === 'verified') return this.verified(rec);
        throw new Error(`the member holds ${done.state.have} of ${job.meta.size} bytes after the transfer`);
      } catch (e) {
        if (job.controller.signal.aborted) return;
        rec.error = (e as Error).message;
        if (attempt >= maxAttempts) return this.fail(rec, rec.error);
        rec.state = 'pending';
        await sleep(Math.min(retryMaxMs, retryBaseMs * 2 ** (attempt - 1)), job.controller.signal);
      }
    }
  }

  /** Runs one attempt while holding a place at the gate (given back during a retry's backoff). */
  private async admitted<T>(job: Job, run: () => Promise<T>): Promise<T> {
    const leave = await this.gate.enter(job.controller.signal);
    try {
      return await run();
    } finally {
      leave();
    }
  }

  /** How many transfers away from the coordinator's upload a member's copy is (0 for the coordinator). */
  private hops(m: SiteMember): number {
    let n = 0;
    for (let s = this.site.sourceOf(m); s && n < this.site.members.length; s = this.site.sourceOf(s)) n++;
    return n;
  }

  /** One pull by the member; progress is what the member says it holds, polled while it fetches. */
  private async attempt(job: Job, m: SiteMember, rec: MemberReplication): Promise<PullResult> {
    const { sha256, size } = job.meta;
    rec.attempts++;
    rec.state = 'transferring';
    if (m.name === this.site.selfName) {
      await job.stored;
      await this.store.fileOf(sha256); // the coordinator verified its own copy when it stored the upload
      return { offset: size, received: 0, state: { sha256, state: 'verified', have: size, size } };
    }
    const client = this.clientOf(m);
    const held = await client.replica(sha256);
    if (held.state === 'verified') return { offset: held.have, received: 0, state: held };
    const offset = held.state === 'partial' && held.size === size ? held.have : 0;
    rec.startedAt.push(offset);
    rec.have = offset;
    const base = rec.bytesSent;
    const poll = setInterval(() => void client.replica(sha256).then((s) => {
      if (s.state === 'absent') return;
      rec.have = s.have;
      rec.bytesSent = base + Math.max(0, s.have - offset);
    }, () => undefined), 500);
    try {
      const r = await client.pullReplica(sha256, size);
      rec.bytesSent = base + r.received;
      rec.have = r.state.have;
      return r;
    } finally {
      clearInterval(poll);
    }
  }

  private verified(rec: MemberReplication): void {
    rec.state = 'verified';
    rec.have = rec.size;
    rec.error = null;
  }

  private fail(rec: MemberReplication, error: string): void {
    rec.state = 'failed';
    rec.error = error;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
