// boot-check: learn which slot booted, detect a rollback, run health checks, then confirm or mark bad.
// Only the one function: the whole semver package is 47 modules on the start-up path of every command.
import semverGt = require('semver/functions/gt');
import { faultPoint } from '../core/fault-point';
import { isAbuError } from '../core/errors';
import type { SlotName } from '../core/slot';
import type { BootFlagBackend } from '../boot/boot-flag-backend';
import type { HealthCheckConfig } from '../config';
import type { SlotStore } from '../slots/slot-store';
import { historyEntry, type PendingActivation, type PersistedState, type StateStore } from '../state/state-store';
import type { BootCheckResult, HistoryKind } from '../facade';

export interface BootConfirmDeps {
  boot: BootFlagBackend;
  state: StateStore;
  slots: SlotStore;
  healthChecks: HealthCheckConfig[];
}

export async function bootConfirm(deps: BootConfirmDeps, booted: SlotName): Promise<BootCheckResult> {
  const s = await deps.state.load();
  if (s.pending && s.pending.slot !== booted) return recordRollback(deps, s, booted);
  const wasGood = (await deps.boot.status()).find((x) => x.slot === booted)?.state === 'good' && !s.pending;
  // Loaded here, at boot-check, not with every engine (it brings node:child_process).
  const { runHealthChecks } = await import('./health-checks');
  const results = await runHealthChecks(deps.healthChecks, await healthEnv(deps.slots, booted));
  const failed = results.find((r) => !r.ok);
  if (failed) return rejectBooted(deps, booted, `health check "${failed.name}" failed on slot ${booted}: ${failed.detail}`);
  faultPoint('boot-check.after-health-checks');
  // Confirm on every healthy boot: the U-Boot scheme counts every boot down, so a good slot needs its tries reset.
  await confirmGood(deps, booted, !wasGood);
  const checks = `${results.length} health check(s)`;
  return wasGood
    ? { booted, outcome: 'already-good', message: `slot ${booted} passed ${checks}; confirmed again` }
    : { booted, outcome: 'confirmed', message: `slot ${booted} passed ${checks} and is marked good` };
}

/** Mark the booted slot bad so the next boot falls back, unless no other good slot exists to fall back to. */
async function rejectBooted(deps: BootConfirmDeps, booted: SlotName, reason: string): Promise<BootCheckResult> {
  try {
    await deps.boot.markBad(booted);
  } catch (e) {
    if (!isAbuError(e, 'ABU_ERR_ACTIVATE_REFUSED')) throw e;
    const message = `${reason}; kept running: no other good slot to fall back to`;
    await recordProblem(deps, booted, 'mark-bad', message);
    return { booted, outcome: 'unhealthy-no-fallback', message };
  }
  await recordProblem(deps, booted, 'mark-bad', reason);
  // The fallback boot reports the rollback; it should name this reason, not spent boot attempts.
  await deps.state.update((st) => {
    if (st.pending?.slot === booted) st.pending.rejected = reason;
  });
  return { booted, outcome: 'marked-bad', message: reason };
}

async function recordProblem(deps: BootConfirmDeps, slot: SlotName, kind: HistoryKind, message: string): Promise<void> {
  await deps.state.update((st) => {
    st.history.push(historyEntry(kind, slot, message, { version: st.slots[slot]?.version, code: 'ABU_ERR_HEALTH_CHECK' }));
    st.lastError = { code: 'ABU_ERR_HEALTH_CHECK', message, time: new Date().toISOString() };
  });
}

/** Mark a booted slot good; an irreversible release raises the floor only now, once it proved itself. */
export async function confirmGood(deps: Pick<BootConfirmDeps, 'boot' | 'state'>, slot: SlotName, record = true): Promise<void> {
  await deps.boot.markGood(slot);
  faultPoint('mark-good.after-flags');
  await deps.state.update((st) => {
    const release = st.slots[slot];
    if (release?.irreversible && (!st.floor || semverGt(release.version, st.floor))) st.floor = release.version;
    if (st.pending?.slot === slot) st.pending = null;
    if (record) st.history.push(historyEntry('mark-good', slot, `slot ${slot}${release ? ` (${release.version})` : ''} marked good`, { version: release?.version }));
  });
}

async function recordRollback(deps: BootConfirmDeps, s: PersistedState, booted: SlotName): Promise<BootCheckResult> {
  const p = s.pending!;
  const status = (await deps.boot.status()).find((x) => x.slot === p.slot);
  if (p.flagsWritten === false && status?.state !== 'trying') return recordInterrupted(deps, p, booted);
  const reason = p.rejected ?? (status?.state === 'bad' || status?.triesLeft === 0 ? 'it used up its boot attempts without being confirmed' : 'the bootloader did not start it');
  const message = `rollback: slot ${p.slot} (${p.version}) was activated but slot ${booted} booted: ${reason}`;
  // The failed slot must not be retried by the bootloader; the running one is confirmed good again.
  await deps.boot.markBad(p.slot);
  await deps.boot.markGood(booted);
  faultPoint('boot-check.rollback-after-flags');
  await deps.state.update((st) => {
    st.pending = null;
    st.history.push(historyEntry('rollback', p.slot, message, { version: p.version, code: 'ABU_ERR_ROLLBACK' }));
    st.lastError = { code: 'ABU_ERR_ROLLBACK', message, time: new Date().toISOString() };
  });
  return { booted, outcome: 'rollback-detected', message };
}

/** Health checks learn which slot booted and where it lives, so they can inspect it. */
async function healthEnv(slots: SlotStore, booted: SlotName): Promise<NodeJS.ProcessEnv> {
  const cls = slots.classes(booted)[0];
  const target = await slots.resolve(booted, cls);
  return { ...process.env, ABU_BOOTED_SLOT: booted, ABU_SLOT_CLASS: cls, ABU_SLOT_DEVICE: target.device, ABU_SLOT_OFFSET: String(target.offset), ABU_SLOT_SIZE: String(target.size) };
}

/** The switch was cut off before its flag write: the bootloader never saw it, so this is no rollback. */
async function recordInterrupted(deps: BootConfirmDeps, p: PendingActivation, booted: SlotName): Promise<BootCheckResult> {
  const message = `activation of slot ${p.slot} (${p.version}) was interrupted before the boot flags were written; slot ${booted} kept`;
  await deps.state.update((st) => {
    st.pending = null;
    st.history.push(historyEntry('activate', p.slot, message, { version: p.version }));
  });
  await confirmGood(deps, booted, false);
  return { booted, outcome: 'already-good', message };
}
