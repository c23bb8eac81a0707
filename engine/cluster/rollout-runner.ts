// Runs cluster rollouts from the journal: the coordinator first, then the others under HA reboot slots; resumes on restart.
import { faultPoint } from '../core/fault-point';
import { EventEmitter } from 'node:events';
import { AbuError, isAbuError } from '../core/errors';
import type { CoordinationStore, Rollout, RolloutMember } from './coordination-store';
import type { MemberClientFactory } from './member-client';
import type { ReplicaMeta } from './replica-store';
import type { Replicator } from './replicator';
import { isInFlight, newRollout, startable, switchBackRefusals } from './rollout-plan';
import { runMemberStep } from './rollout-step';
import type { Site } from './site';

export class RolloutRunner {
  /** 'change' with the rollout after every journal write (SSE and pages). */
  readonly events = new EventEmitter();
  private driving: Promise<void> | null = null;
  private controller = new AbortController();
  private retry: NodeJS.Timeout | null = null;

  constructor(private readonly site: Site, private readonly store: CoordinationStore, private readonly clientOf: MemberClientFactory, private readonly replicator: Replicator) {}

  /** On start: a rollout the journal says is running is carried on (members already healthy are never touched again). */
  async resume(): Promise<void> {
    try {
      const r = await this.store.loadRollout();
      if (r && isActive(r)) this.drive(r);
    } catch (e) {
      if (!isAbuError(e, 'ABU_ERR_COORDINATION_UNAVAILABLE')) throw e;
      this.resumeLater(e);
    }
  }

  stop(): void {
    this.controller.abort(new AbuError('ABU_ERR_CANCELLED', 'the coordinator is stopping'));
    if (this.retry) clearTimeout(this.retry);
  }

  async status(): Promise<{ rollout: Rollout | null; rebootSlots: Record<string, string[]> }> {
    return { rollout: await this.store.loadRollout(), rebootSlots: await this.store.rebootSlots() };
  }

  /** "Activate alternate image" for the cluster: every member ends on the bundle's version. */
  async activate(meta: ReplicaMeta, o: { ha: boolean; acceptIrreversible: boolean }): Promise<Rollout> {
    await this.assertIdle();
    const targets = Object.fromEntries(this.site.members.map((m) => [m.name, meta.version]));
    return this.begin(newRollout(this.site, { kind: 'activate', sha256: meta.sha256, version: meta.version, ha: o.ha, acceptIrreversible: o.acceptIrreversible, targets }));
  }

  /** Every member boots its alternate image; refused for the whole cluster if any member cannot. */
  async switchBack(o: { ha: boolean }): Promise<Rollout> {
    await this.assertIdle();
    const statuses = new Map(await Promise.all(this.site.members.map(async (m) => [m.name, await this.clientOf(m).status().catch(() => null)] as const)));
    const refusals = switchBackRefusals(this.site, statuses);
    if (refusals.length > 0) {
      throw new AbuError('ABU_ERR_ROLLOUT_REFUSED', `switch back refused for the whole cluster: ${refusals.map((x) => `${x.member} ${x.reason}`).join('; ')}`, { details: { refusals } });
    }
    const targets = Object.fromEntries([...statuses].map(([name, s]) => [name, s!.slots.find((x) => x.name === s!.alternate)!.version]));
    return this.begin(newRollout(this.site, { kind: 'switch-back', sha256: null, version: null, ha: o.ha, acceptIrreversible: false, targets }));
  }

  private async assertIdle(): Promise<void> {
    const r = await this.store.loadRollout();
    if (r && isActive(r)) throw new AbuError('ABU_ERR_ROLLOUT_RUNNING', `rollout ${r.id} (${r.kind}${r.version ? ` ${r.version}` : ''}) is still running`, { details: { id: r.id } });
  }

  private async begin(r: Rollout): Promise<Rollout> {
    await this.save(r);
    faultPoint('rollout.after-journal');
    this.drive(r);
    return r;
  }

  private drive(r: Rollout): void {
    if (this.driving) return;
    const drive = new AbortController();
    const signal = AbortSignal.any([this.controller.signal, drive.signal]);
    this.driving = this.run(r, signal, drive).catch(async (e) => {
      if (this.controller.signal.aborted) return;
      // The store's journal still says what was done: carried on from it once the store answers again. A journal
      // another coordinator changed is left to that one (saving here would overwrite its record).
      if (isAbuError(e, 'ABU_ERR_COORDINATION_UNAVAILABLE')) return this.resumeLater(e);
      if (isAbuError(e, 'ABU_ERR_COORDINATION_CONFLICT')) return void this.events.emit('conflict', e);
      r.state = 'failed';
      r.finishedAt = new Date().toISOString();
      r.error = `the coordinator stopped driving the rollout: ${(e as Error).message}`;
      await this.save(r).catch(() => undefined);
    }).finally(() => (this.driving = null));
  }

  /** Retries resume() while the coordination store does not answer (etcd without quorum). */
  private resumeLater(e: AbuError): void {
    if (this.controller.signal.aborted || this.retry) return;
    this.events.emit('unavailable', e);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.resume().catch(() => undefined);
    }, Math.max(1000, this.site.config.rollout.pollMs));
  }

  private async run(r: Rollout, signal: AbortSignal, drive: AbortController): Promise<void> {
    const running = new Map<string, Promise<void>>();
    try {
      const first = r.members[r.order[0]];
      if (first.phase !== 'healthy') await this.step(r, first.name, signal);
      if (signal.aborted) return;
      // Members the journal shows in flight (the coordinator died meanwhile) go on first: they already hold their slots.
      for (const name of r.order.slice(1).filter((n) => isInFlight(r.members[n]))) running.set(name, this.track(r, name, running, signal));
      for (;;) {
        if (signal.aborted) return;
        // A step that ends while the slot table is read frees its slot after the read: only a pass that began with
        // nothing running saw every slot as it is, so only such a pass that starts nobody may end the rollout.
        const idle = running.size === 0;
        await this.releaseSettled(r, running);
        for (const name of startable(r, this.site, await this.store.rebootSlots(), new Set(running.keys()), this.maxParallel(r))) {
          if (await this.takeSlot(r, name)) running.set(name, this.track(r, name, running, signal));
        }
        if (running.size === 0 && idle) break;
        if (running.size > 0) await Promise.race([...running.values(), sleep(this.site.config.rollout.pollMs)]);
      }
      await this.finish(r, signal);
    } catch (e) {
      // Steps still in flight stop before this drive ends, so none writes the journal after a later resume read it.
      drive.abort(e);
      await Promise.allSettled(running.values());
      throw e;
    }
  }

  private maxParallel(r: Rollout): number {
    return r.state === 'running' ? this.site.config.rollout.maxParallel : 0;
  }

  private track(r: Rollout, name: string, running: Map<string, Promise<void>>, signal: AbortSignal): Promise<void> {
    return this.step(r, name, signal).finally(() => running.delete(name));
  }

  /** FleetLock's pre-reboot: the member's HA group slot, taken before its turn begins (idempotent per member). */
  private async takeSlot(r: Rollout, name: string): Promise<boolean> {
    const group = this.site.member(name).haGroup;
    return !r.ha || group === undefined || this.store.acquireRebootSlot(group, name);
  }

  private async step(r: Rollout, name: string, signal: AbortSignal): Promise<void> {
    const member = r.members[name];
    if (!(await this.takeSlot(r, name))) return;
    await runMemberStep({
      rollout: r, member, client: this.clientOf(this.site.member(name)), replicator: this.replicator, save: () => this.save(r, signal),
      pollMs: this.site.config.rollout.pollMs, rebootTimeoutMs: this.site.config.rollout.rebootTimeoutSeconds * 1000,
      resendRebootMs: this.site.config.rollout.resendRebootSeconds * 1000, signal,
    });
    if (signal.aborted) return;
    if (member.phase === 'failed' && r.state === 'running') {
      // Stop: nobody else starts; members already updated stay as they are.
      r.state = 'stopping';
      r.error = `${name}: ${member.detail}`;
    }
    // FleetLock's steady-state: released once the member is back up, healthy or rolled back. One that never came
    // back keeps its slot, so its HA partner is not taken down while it is away.
    const group = this.site.member(name).haGroup;
    if (group !== undefined && isBack(member)) await this.store.releaseRebootSlot(group, name);
    await this.save(r, signal);
  }

  /**
   * A release lost to a coordinator crash or a store outage (after the journal said the member was back, before the
   * slot was freed) is done again here, or the member's HA partner would wait for that slot forever.
   */
  private async releaseSettled(r: Rollout, running: Map<string, Promise<void>>): Promise<void> {
    for (const [group, holders] of Object.entries(await this.store.rebootSlots())) {
      for (const name of holders) {
        const m = r.members[name];
        if (m && !running.has(name) && isBack(m)) await this.store.releaseRebootSlot(group, name);
      }
    }
  }

  private async finish(r: Rollout, signal: AbortSignal): Promise<void> {
    await this.releaseSettled(r, new Map());
    const stuck = r.order.filter((n) => r.members[n].phase === 'waiting');
    if (r.state === 'running' && stuck.length > 0) {
      r.state = 'failed';
      r.error = `${stuck.join(', ')} could not take their HA reboot slot: ${JSON.stringify(await this.store.rebootSlots())}`;
    }
    for (const name of r.order) {
      const m = r.members[name];
      if (m.phase === 'waiting') Object.assign(m, { phase: 'skipped', detail: `not started: the rollout stopped (${r.error})` });
    }
    r.state = r.state === 'running' ? 'succeeded' : 'failed';
    r.finishedAt = new Date().toISOString();
    await this.save(r, signal);
  }

  /** A drive that was stopped writes nothing more: a later resume owns the journal. */
  private async save(r: Rollout, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    await this.store.saveRollout(r);
    this.events.emit('change', r);
  }
}

/** Back from its turn: healthy, or failed while it was reachable. One that never came back keeps its slot. */
function isBack(m: RolloutMember): boolean {
  return m.phase === 'healthy' || (m.phase === 'failed' && !/did not come back/.test(m.detail));
}

export function isActive(r: Rollout): boolean {
  return r.state === 'running' || r.state === 'stopping';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
