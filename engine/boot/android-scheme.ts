// Android A/B boot control: libboot_control's updates and U-Boot ab_select_slot's choice over bootloader_control.
import type { AndroidBootControl, AndroidSlotMetadata } from '../../native/bootenv';
import { AbuError } from '../core/errors';
import type { SlotBootStatus, SlotName } from '../core/slot';
import type { BootChoice, BootScheme } from './boot-scheme';

/** libboot_control's kDefaultBootAttempts - 1 as SetActiveBootSlot writes it; 3 bits, so at most 7. */
export const ANDROID_DEFAULT_TRIES = 6;

const bootable = (s: AndroidSlotMetadata) => s.priority > 0 && !s.verityCorrupted && (s.triesRemaining > 0 || s.successfulBoot);

export class AndroidScheme implements BootScheme<AndroidBootControl> {
  constructor(
    readonly slots: readonly SlotName[],
    readonly tries = ANDROID_DEFAULT_TRIES,
  ) {
    if (slots.length > 4) throw new AbuError('ABU_ERR_BOOT_BACKEND', 'android: bootloader_control holds at most 4 slots');
    if (!Number.isInteger(tries) || tries < 1 || tries > 7) {
      throw new AbuError('ABU_ERR_BOOT_BACKEND', `android: tries must be 1..7 (3-bit field), got ${tries}`);
    }
  }

  /** Slot n is the n-th configured slot; its suffix is "_a", "_b", ... as Android names them. */
  suffix(slot: SlotName): string {
    return `_${String.fromCharCode(97 + this.index(slot))}`;
  }

  status(bc: AndroidBootControl): SlotBootStatus[] {
    const primary = this.boot(bc).slot;
    return this.slots.map((slot, i) => {
      const m = bc.slots[i];
      const ok = i < bc.nbSlot && bootable(m);
      return { slot, state: !ok ? 'bad' : m.successfulBoot ? 'good' : 'trying', triesLeft: ok ? m.triesRemaining : 0, primary: slot === primary };
    });
  }

  /** SetSlotAsUnbootable: not successful, no tries left. */
  markBad(bc: AndroidBootControl, slot: SlotName): AndroidBootControl {
    return this.update(bc, this.index(slot), { successfulBoot: false, triesRemaining: 0 });
  }

  /** SetActiveBootSlot: priority 15 and fresh tries; any other slot at 15 steps down to 14 so the target wins. */
  activate(bc: AndroidBootControl, slot: SlotName): AndroidBootControl {
    const target = this.index(slot);
    const slots = bc.slots.map((m, i) =>
      i === target ? { ...m, priority: 15, triesRemaining: this.tries, successfulBoot: false, verityCorrupted: false }
        : m.priority >= 15 ? { ...m, priority: 14 } : m,
    );
    return { ...bc, slots };
  }

  /** MarkBootSuccessful: successful and tries 1 as libboot_control writes it; a priority-0 slot gets 15 so it can boot. */
  markGood(bc: AndroidBootControl, slot: SlotName): AndroidBootControl {
    const m = bc.slots[this.index(slot)];
    return this.update(bc, this.index(slot), { successfulBoot: true, triesRemaining: 1, priority: m.priority || 15 });
  }

  /** ab_select_slot: best bootable slot by priority, then successful, then tries; an unproven one pays a try. */
  boot(bc: AndroidBootControl): BootChoice<AndroidBootControl> {
    let best = -1;
    for (let i = 0; i < Math.min(bc.nbSlot, 4); i++) {
      if (bootable(bc.slots[i]) && (best < 0 || this.better(bc.slots[i], bc.slots[best]))) best = i;
    }
    if (best < 0) return { slot: null, state: bc, saved: false };
    const slot = this.slots[best] ?? String.fromCharCode(65 + best);
    const m = bc.slots[best];
    if (m.successfulBoot) return { slot, state: bc, saved: false };
    return { slot, state: this.update(bc, best, { triesRemaining: m.triesRemaining - 1 }), saved: true };
  }

  describe(bc: AndroidBootControl): Record<string, string> {
    const out: Record<string, string> = {};
    this.slots.forEach((slot, i) => {
      const m = bc.slots[i];
      out[`${slot}.priority`] = String(m.priority);
      out[`${slot}.tries`] = String(m.triesRemaining);
      out[`${slot}.successful`] = m.successfulBoot ? '1' : '0';
      out[`${slot}.verity`] = m.verityCorrupted ? '1' : '0';
    });
    return out;
  }

  private better(a: AndroidSlotMetadata, b: AndroidSlotMetadata): boolean {
    if (a.priority !== b.priority) return a.priority > b.priority;
    if (a.successfulBoot !== b.successfulBoot) return a.successfulBoot;
    return a.triesRemaining > b.triesRemaining;
  }

  private update(bc: AndroidBootControl, i: number, change: Partial<AndroidSlotMetadata>): AndroidBootControl {
    return { ...bc, slots: bc.slots.map((m, j) => (j === i ? { ...m, ...change } : m)) };
  }

  private index(slot: SlotName): number {
    const i = this.slots.indexOf(slot);
    if (i < 0) throw new AbuError('ABU_ERR_SLOT_UNKNOWN', `android: no slot named "${slot}"`);
    return i;
  }
}
