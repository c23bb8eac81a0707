// Switching the next boot to a slot, recorded so boot-check can tell a rollback from an interrupted switch.
import { faultPoint } from '../core/fault-point';
import type { SlotName } from '../core/slot';
import type { BootFlagBackend } from '../boot/boot-flag-backend';
import type { ActivateResult } from '../facade';
import { historyEntry, type PendingActivation, type StateStore } from '../state/state-store';
import { confirmGood } from './boot-confirm';

export interface ActivationDeps {
  boot: BootFlagBackend;
  state: StateStore;
}

/**
 * Intent first, then the one flag write, then the confirmation: a power cut anywhere leaves a record
 * that says whether the bootloader could have seen the switch (flagsWritten).
 */
export async function activateSlot(deps: ActivationDeps, slot: SlotName, from: SlotName, version: string, message: string): Promise<void> {
  const intent = activationIntent(slot, from, version);
  await deps.state.update((s) => (s.pending = intent));
  await switchBootTo(deps, intent, message);
}

/** The record of a switch about to be made (flagsWritten false): it must be on disk before the flag write. */
export function activationIntent(slot: SlotName, from: SlotName, version: string): PendingActivation {
  return { slot, from, version, time: new Date().toISOString(), flagsWritten: false };
}

/**
 * The flag write and its confirmation, once `intent` is on disk (by activateSlot, or by the install in the same
 * write that records its release verified).
 */
export async function switchBootTo(deps: ActivationDeps, intent: PendingActivation, message: string): Promise<void> {
  faultPoint('activate.before-flag-flip');
  await deps.boot.activate(intent.slot);
  faultPoint('activate.after-flag-flip');
  await deps.state.update((s) => {
    s.pending = { ...intent, flagsWritten: true };
    s.history.push(historyEntry('activate', intent.slot, message, { version: intent.version }));
  });
}

/**
 * "Keep current image": the booted slot boots next. A slot activated but never booted is set back to not
 * bootable (its verified release stays recorded, so it can be activated again); a booted slot on trial is left
 * for boot-check; a booted slot that already boots next is left alone.
 */
export async function keepBooted(deps: ActivationDeps, booted: SlotName): Promise<ActivateResult> {
  const flags = await deps.boot.status();
  const mine = flags.find((f) => f.slot === booted);
  const version = (await deps.state.load()).slots[booted]?.version;
  const name = `slot ${booted}${version ? ` (${version})` : ''}`;
  if (mine?.state === 'trying') return { slot: booted, changed: false, message: `${name} is booted on trial; boot-check (or mark-good) confirms it` };
  const ahead = flags.filter((f) => f.slot !== booted && (f.primary || f.state === 'trying'));
  if (mine?.state === 'good' && mine.primary && ahead.length === 0) {
    return { slot: booted, changed: false, message: `${name} is booted and already boots next; nothing changed` };
  }
  if (mine?.state !== 'good') await confirmGood(deps, booted);
  for (const f of ahead) await deps.boot.markBad(f.slot);
  const undone = ahead.map((f) => f.slot).join(', ');
  const message = `${name} boots next${undone ? `; the activation of slot ${undone} was undone (it stays installed as the alternate image)` : ''}`;
  await deps.state.update((s) => {
    if (s.pending && s.pending.slot !== booted) s.pending = null;
    s.history.push(historyEntry('activate', booted, message, { version }));
  });
  return { slot: booted, changed: true, message };
}
