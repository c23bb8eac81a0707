// The coordinator's replication: each upload goes once per data center to its primary, which forwards it inside.
import { AbuError } from '../core/errors';
import type { MemberClient, MemberClientFactory, PushResult } from './member-client';
import { pushReplica } from './replica-push';
import type { ReplicaMeta, ReplicaStore } from './replica-store';
import { newRecord, summarize, type BundleReplication, type MemberReplication } from './replication-status';
import type { Site, SiteMember } from './site';

interface Job {
  meta: ReplicaMeta;
  records: Map<string, MemberReplication>;
  controller: AbortController;
  /** The running pass over the data centers; a member that failed for good is retried by a new pass. */
  running: Promise<void> | null;
}

export class Replicator {
  private readonly jobs = new Map<string, Job>();

  constructor(private readonly site: Site, private readonly store: ReplicaStore, private readonly clientOf: MemberClientFactory) {}

  /** Picks up every stored bundle (a restarted coordinator carries on where members stand). */
  async start(): Promise<void> {
    for (const meta of await this.store.list()) this.replicate(meta);
  }

  stop(): void {
    for (const job of this.jobs.values()) job.controller.abort(new AbuError('ABU_ERR_CANCELLED', 'the coordinator is stopping'));
  }

  /** Starts (or restarts the failed members of) the replication of a stored bundle. */
  replicate(meta: ReplicaMeta): void {
    let job = this.jobs.get(meta.sha256);
    if (!job) {
      job = { meta, records: new Map(), controller: new AbortController(), running: null };
      for (const m of this.site.members) job.records.set(m.name, newRecord(m.name, m.dataCenter, this.sourceOf(m).name, meta.size));
      this.jobs.set(meta.sha256, job);
    }
    if (job.running) return;
    const current = job;
    job.running = Promise.all(this.site.dataCenters().map((dc) => this.runDataCenter(current, dc))).then(() => undefined).finally(() => (current.running = null));
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

  /** The data center's primary first (from the coordinator), then everyone else there from that primary. */
  private async runDataCenter(job: Job, dc: string): Promise<void> {
    const primary = this.site.primaryOf(dc);
    await this.ensure(job, primary);
    const others = this.site.members.filter((m) => m.dataCenter === dc && m.name !== primary.name);
    if (job.records.get(primary.name)!.state !== 'verified') {
      for (const m of others) this.fail(job.records.get(m.name)!, `the data center's primary ${primary.name} holds no verified replica to forward`);
      return;
    }
    await Promise.all(others.map((m) => this.ensure(job, m)));
  }

  private sourceOf(m: SiteMember): SiteMember {
    const primary = this.site.primaryOf(m.dataCenter);
    return m.name === primary.name || primary.name === this.site.selfName ? this.site.self : primary;
  }

  /** Transfers until the member verified its replica, retrying with exponential backoff. */
  private async ensure(job: Job, m: SiteMember): Promise<void> {
    const rec = job.records.get(m.name)!;
    const { retryBaseMs, retryMaxMs, maxAttempts } = this.site.config.replication;
    for (let attempt = 1; !job.controller.signal.aborted; attempt++) {
      try {
        const done = await this.attempt(job, m, rec);
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

  private async attempt(job: Job, m: SiteMember, rec: MemberReplication): Promise<PushResult> {
    const { sha256, size } = job.meta;
    rec.attempts++;
    rec.state = 'transferring';
    if (m.name === this.site.selfName) {
      await this.store.fileOf(sha256); // the coordinator verified its own copy when it stored the upload
      return { offset: size, sent: 0, state: { sha256, state: 'verified', have: size, size } };
    }
    const via = this.sourceOf(m);
    if (via.name === this.site.selfName) return this.direct(job, this.clientOf(m), rec);
    return this.forwarded(job, this.clientOf(via), this.clientOf(m), rec);
  }

  private async direct(job: Job, to: MemberClient, rec: MemberReplication): Promise<PushResult> {
    const { sha256, size } = job.meta;
    const file = await this.store.fileOf(sha256);
    const base = rec.bytesSent;
    let first = true;
    const onProgress = (have: number, _size: number, sent: number) => {
      if (first) rec.startedAt.push(have - sent);
      first = false;
      rec.have = have;
      rec.bytesSent = base + sent;
    };
    return pushReplica(file, sha256, size, to, { maxBytesPerSecond: this.site.config.replication.maxBytesPerSecond, onProgress, signal: job.controller.signal });
  }

  /** The primary pushes from its own verified replica; progress is what the receiver says it holds. */
  private async forwarded(job: Job, via: MemberClient, to: MemberClient, rec: MemberReplication): Promise<PushResult> {
    const { sha256 } = job.meta;
    const poll = setInterval(() => void to.replica(sha256).then((s) => (rec.have = s.have), () => undefined), 500);
    try {
      const r = await via.forward(sha256, to.member.name);
      rec.bytesSent += r.sent;
      if (r.sent > 0) rec.startedAt.push(r.offset);
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
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
