// Runs cluster rollouts from the journal: the coordinator first, then the others under HA reboot slots; resumes on restart.
import { EventEmitter } from 'node:events';
import { AbuError } from '../core/errors';
import type { CoordinationStore, Rollout } from './coordination-store';
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

  constructor(private readonly site: Site, private readonly store: CoordinationStore, private readonly clientOf: MemberClientFactory, private readonly replicator: Replicator) {}

  /** On start: a rollout the journal says is running is carried on (members already healthy are never touched again). */
  async resume(): Promise<void> {
    const r = await this.store.loadRollout();
    if (r && isActive(r)) this.drive(r);
  }

  stop(): void {
    this.controller.abort(new AbuError('ABU_ERR_CANCELLED', 'the coordinator is stopping'));
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
    this.drive(r);
    return r;
  }

  private drive(r: Rollout): void {
    if (this.driving) return;
    this.driving = this.run(r).catch(async (e) => {
      if (this.controller.signal.aborted) return;
      r.state = 'failed';
      r.finishedAt = new Date().toISOString();
      r.error = `the coordinator stopped driving the rollout: ${(e as Error).message}`;
      await this.save(r).catch(() => undefined);
    }).finally(() => (this.driving = null));
  }

  private async run(r: Rollout): Promise<void> {
    const first = r.members[r.order[0]];
    if (first.phase !== 'healthy') await this.step(r, first.name);
    if (this.controller.signal.aborted) return;
    const running = new Map<string, Promise<void>>();
    // Members the journal shows in flight (the coordinator died meanwhile) go on first: they already hold their slots.
    for (const name of r.order.slice(1).filter((n) => isInFlight(r.members[n]))) running.set(name, this.track(r, name, running));
    for (;;) {
      if (this.controller.signal.aborted) return;
      for (const name of startable(r, this.site, await this.store.rebootSlots(), new Set(running.keys()), this.maxParallel(r))) {
        if (await this.takeSlot(r, name)) running.set(name, this.track(r, name, running));
      }
      if (running.size === 0) break;
      await Promise.race([...running.values(), sleep(this.site.config.rollout.pollMs)]);
    }
    await this.finish(r);
  }

  private maxParallel(r: Rollout): number {
    return r.state === 'running' ? this.site.config.rollout.maxParallel : 0;
  }

  private track(r: Rollout, name: string, running: Map<string, Promise<void>>): Promise<void> {
    return this.step(r, name).finally(() => running.delete(name));
  }

  /** FleetLock's pre-reboot: the member's HA group slot, taken before its turn begins (idempotent per member). */
  private async takeSlot(r: Rollout, name: string): Promise<boolean> {
    const group = this.site.member(name).haGroup;
    return !r.ha || group === undefined || this.store.acquireRebootSlot(group, name);
  }

  private async step(r: Rollout, name: string): Promise<void> {
    const member = r.members[name];
    if (!(await this.takeSlot(r, name))) return;
    await runMemberStep({
      rollout: r, member, client: this.clientOf(this.site.member(name)), replicator: this.replicator, save: () => this.save(r),
      pollMs: this.site.config.rollout.pollMs, rebootTimeoutMs: this.site.config.rollout.rebootTimeoutSeconds * 1000, signal: this.controller.signal,
    });
    if (this.controller.signal.aborted) return;
    if (member.phase === 'failed' && r.state === 'running') {
      // Stop: nobody else starts; members already updated stay as they are.
      r.state = 'stopping';
      r.error = `${name}: ${member.detail}`;
    }
    // FleetLock's steady-state: released once the member is back up, healthy or rolled back. One that never came
    // back keeps its slot, so its HA partner is not taken down while it is away.
    const group = this.site.member(name).haGroup;
    const back = member.phase === 'healthy' || !/did not come back/.test(member.detail);
    if (group !== undefined && back) await this.store.releaseRebootSlot(group, name);
    await this.save(r);
  }

  private async finish(r: Rollout): Promise<void> {
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
    await this.save(r);
  }

  private async save(r: Rollout): Promise<void> {
    await this.store.saveRollout(r);
    this.events.emit('change', r);
  }
}

export function isActive(r: Rollout): boolean {
  return r.state === 'running' || r.state === 'stopping';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
