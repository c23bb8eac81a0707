// One member's turn in a cluster rollout: get the image in place, activate, reboot, and wait for it back healthy.
import { faultPoint } from '../core/fault-point';
import { isAbuError } from '../core/errors';
import type { ProgressEvent } from '../core/progress';
import type { ApplianceStatus, SlotView } from '../facade';
import { phasePercent } from './member-progress';
import type { Rollout, RolloutMember } from './coordination-store';
import type { MemberClient } from './member-client';
import type { Replicator } from './replicator';

export interface StepContext {
  rollout: Rollout;
  member: RolloutMember;
  client: MemberClient;
  replicator: Replicator | null;
  /** Journals the rollout (atomically) before anything irreversible is asked of the member. */
  save(): Promise<void>;
  pollMs: number;
  rebootTimeoutMs: number;
  /** A member still up with its activation pending this long after the reboot was asked never got the request. */
  resendRebootMs: number;
  signal: AbortSignal;
}

/** Ends with the member healthy on its target or failed with a reason; never reboots a member already on its target. */
export async function runMemberStep(c: StepContext): Promise<void> {
  const m = c.member;
  try {
    if (m.phase !== 'rebooting') {
      const s = await statusWhenUp(c);
      if (onTarget(s, m.target)) return done(c, 'healthy', `already running ${m.target}`);
      if (s.pending?.version !== m.target) await prepare(c, s);
      await set(c, 'rebooting', 'rebooting', { rebootAskedAt: new Date().toISOString() });
      faultPoint('rollout.before-reboot-request');
      await c.client.reboot();
      faultPoint('rollout.after-reboot-request');
    }
    await waitBack(c);
  } catch (e) {
    if (c.signal.aborted) return;
    // The journal could not be written: the member did not fail, the runner stops and carries on from the journal.
    if (isAbuError(e, 'ABU_ERR_COORDINATION_UNAVAILABLE') || isAbuError(e, 'ABU_ERR_COORDINATION_CONFLICT')) throw e;
    await done(c, 'failed', (e as Error).message);
  }
}

/** Puts the target image in the alternate slot (from the member's own verified replica) and activates it. */
async function prepare(c: StepContext, s: ApplianceStatus): Promise<void> {
  const { rollout: r, member: m } = c;
  const alt = slotOf(s, s.alternate);
  if (r.kind === 'switch-back' || (alt.version === m.target && alt.image === 'verified')) {
    await set(c, 'installing', `activating ${m.target} in slot ${s.alternate}`);
    await c.client.activate('other', { acceptIrreversible: r.acceptIrreversible });
    return;
  }
  await set(c, 'downloading', 'waiting for its replica', { percent: 0 });
  const poll = setInterval(() => {
    const rec = c.replicator?.statusOf(r.sha256!)?.members.find((x) => x.member === m.name);
    if (rec && rec.size > 0) m.percent = Math.floor((100 * rec.have) / rec.size);
  }, c.pollMs);
  try {
    await c.replicator!.awaitMember(r.sha256!, m.name, c.signal);
  } finally {
    clearInterval(poll);
  }
  await set(c, 'installing', `installing ${m.target} from its own replica`, { percent: 0 });
  // Progress is journaled one update at a time, in order; none after the install call returned.
  let live = true;
  let updates = Promise.resolve();
  const watch = c.client.watchProgress((e) => void (updates = updates.then(() => (live ? installProgress(c, e) : undefined))));
  try {
    await watch.ready;
    await c.client.installReplica(r.sha256!, { activate: true, acceptIrreversible: r.acceptIrreversible });
  } finally {
    live = false;
    watch.stop();
    await updates;
  }
  await set(c, 'installing', `installed ${m.target}; activated in its alternate slot`, { percent: 100 });
}

const PHASE_WORDS: Record<string, string> = { receiving: 'reading the bundle', verifying: 'checking signatures and policy', writing: 'writing', readback: 'reading back', activating: 'activating' };

/** The member's own progress of the install (its event stream), journaled when the percentage or phase moved. */
async function installProgress(c: StepContext, p: ProgressEvent): Promise<void> {
  if (!(p.phase in PHASE_WORDS)) return;
  const percent = p.phase === 'writing' || p.phase === 'readback' ? phasePercent(p) : 0;
  const detail = `installing ${c.member.target}: ${PHASE_WORDS[p.phase]}${p.image ? ` ${p.image}` : ''}`;
  if (percent === c.member.percent && detail === c.member.detail) return;
  await set(c, 'installing', detail, { percent }).catch(() => undefined);
}

async function waitBack(c: StepContext): Promise<void> {
  const m = c.member;
  const asked = Date.parse(m.rebootAskedAt ?? new Date().toISOString());
  let resent = false;
  for (;;) {
    if (c.signal.aborted) return;
    const s = await c.client.status().catch(() => null);
    if (s) {
      const booted = slotOf(s, s.booted);
      if (onTarget(s, m.target)) return done(c, 'healthy', `healthy on ${m.target}`);
      if (!s.pending && booted.version !== m.target) {
        const why = s.lastError && !s.lastError.past ? s.lastError.message : 'its activation was undone';
        return done(c, 'failed', `came back on ${booted.version ?? 'an unknown version'} instead of ${m.target}: ${why}`);
      }
      if (!resent && s.pending?.version === m.target && !s.operation && Date.now() - asked > c.resendRebootMs) {
        resent = true;
        await c.client.reboot().catch(() => undefined);
      }
    }
    if (Date.now() - asked > c.rebootTimeoutMs) return done(c, 'failed', `did not come back healthy within ${Math.round(c.rebootTimeoutMs / 1000)} s`);
    await sleep(c.pollMs);
  }
}

/** A member that does not answer yet (still booting from an earlier step) is waited for up to the reboot timeout. */
async function statusWhenUp(c: StepContext): Promise<ApplianceStatus> {
  const until = Date.now() + c.rebootTimeoutMs;
  for (;;) {
    try {
      return await c.client.status();
    } catch (e) {
      if (!isAbuError(e, 'ABU_ERR_SITE_MEMBER_UNREACHABLE') || Date.now() > until || c.signal.aborted) throw e;
      await sleep(c.pollMs);
    }
  }
}

/** Booted on the target version and confirmed by its boot-check (slot good, nothing pending). */
export function onTarget(s: ApplianceStatus, target: string | null): boolean {
  const booted = slotOf(s, s.booted);
  return booted.version === target && booted.state === 'good' && !s.pending;
}

function slotOf(s: ApplianceStatus, name: string): SlotView {
  return s.slots.find((x) => x.name === name)!;
}

async function set(c: StepContext, phase: RolloutMember['phase'], detail: string, extra: Partial<RolloutMember> = {}): Promise<void> {
  Object.assign(c.member, { phase, detail, ...extra });
  c.member.startedAt ??= new Date().toISOString();
  await c.save();
}

async function done(c: StepContext, phase: 'healthy' | 'failed', detail: string): Promise<void> {
  await set(c, phase, detail, { percent: null, finishedAt: new Date().toISOString() });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
