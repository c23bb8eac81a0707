// Switching the next boot to a slot, recorded so boot-check can tell a rollback from an interrupted switch.
import type { SlotName } from '../core/slot';
import type { BootFlagBackend } from '../boot/boot-flag-backend';
import { historyEntry, type StateStore } from '../state/state-store';

export interface ActivationDeps {
  boot: BootFlagBackend;
  state: StateStore;
}

/**
 * Intent first, then the one flag write, then the confirmation: a power cut anywhere leaves a record
 * that says whether the bootloader could have seen the switch (flagsWritten).
 */
export async function activateSlot(deps: ActivationDeps, slot: SlotName, from: SlotName, version: string, message: string): Promise<void> {
  const time = new Date().toISOString();
  await deps.state.update((s) => (s.pending = { slot, from, version, time, flagsWritten: false }));
  await deps.boot.activate(slot);
  await deps.state.update((s) => {
    s.pending = { slot, from, version, time, flagsWritten: true };
    s.history.push(historyEntry('activate', slot, message, { version }));
  });
}
