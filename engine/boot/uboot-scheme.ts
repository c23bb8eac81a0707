// RAUC's U-Boot scheme: BOOT_ORDER + BOOT_<slot>_LEFT (hex), as bootloader-config/uboot/boot.cmd runs it.
import { AbuError } from '../core/errors';
import type { SlotBootStatus, SlotName } from '../core/slot';
import type { BootChoice, BootScheme } from './boot-scheme';
import { EnvVars } from './env-vars';

const ORDER = 'BOOT_ORDER';
/** abu's own marker for the slot on trial: U-Boot ignores it; it tells "trying" from "good" after a reboot. */
export const TRYING = 'ABU_TRYING';
const left = (slot: SlotName) => `BOOT_${slot}_LEFT`;

export class UbootScheme implements BootScheme<EnvVars> {
  /** @param attempts tries per activation, and the value boot.cmd resets every counter to when all ran out. */
  constructor(
    readonly slots: readonly SlotName[],
    readonly attempts = 3,
  ) {
    if (!Number.isInteger(attempts) || attempts < 1 || attempts > 15) {
      throw new AbuError('ABU_ERR_BOOT_BACKEND', `uboot: attempts must be 1..15 (one hex digit), got ${attempts}`);
    }
  }

  order(vars: EnvVars): SlotName[] {
    return (vars.get(ORDER) ?? '').split(/\s+/).filter((s) => s !== '');
  }

  /**
   * boot.cmd counts down with a lookup table (the qemu-x86 U-Boot has no setexpr), so it knows exactly the
   * one-digit lowercase hex values 1..f (as abu writes them); anything else means no tries, here as there.
   */
  triesLeft(vars: EnvVars, slot: SlotName): number {
    const v = vars.get(left(slot)) ?? '';
    return /^[1-9a-f]$/.test(v) ? parseInt(v, 16) : 0;
  }

  status(vars: EnvVars): SlotBootStatus[] {
    const order = this.order(vars);
    const primary = this.boot(vars).slot;
    return this.slots.map((slot) => ({
      slot,
      state: !order.includes(slot) ? 'bad' : vars.get(TRYING) === slot ? 'trying' : 'good',
      triesLeft: order.includes(slot) ? this.triesLeft(vars, slot) : 0,
      primary: slot === primary,
    }));
  }

  markBad(vars: EnvVars, slot: SlotName): EnvVars {
    const order = this.order(vars).filter((s) => s !== slot);
    return vars.with({ [ORDER]: order.join(' '), [left(slot)]: '0', ...this.clearTrying(vars, slot) });
  }

  activate(vars: EnvVars, slot: SlotName): EnvVars {
    const order = [slot, ...this.order(vars).filter((s) => s !== slot)];
    return vars.with({ [ORDER]: order.join(' '), [left(slot)]: this.attempts.toString(16), [TRYING]: slot });
  }

  markGood(vars: EnvVars, slot: SlotName): EnvVars {
    const order = this.order(vars);
    const next = order.includes(slot) ? order : [...order, slot];
    return vars.with({ [ORDER]: next.join(' '), [left(slot)]: this.attempts.toString(16), ...this.clearTrying(vars, slot) });
  }

  /**
   * First slot in BOOT_ORDER with tries left: decrement and save. None: reset all to `attempts`, save, retry.
   * boot.cmd saves with `env export` of the contract variables only, so other variables do not survive a save.
   */
  boot(vars: EnvVars): BootChoice<EnvVars> {
    const choice = this.choose(vars);
    return choice.saved ? { ...choice, state: this.contractOnly(choice.state) } : choice;
  }

  private choose(vars: EnvVars): BootChoice<EnvVars> {
    const first = this.pick(vars);
    if (first) return first;
    const order = this.order(vars);
    if (order.length === 0) return { slot: null, state: vars, saved: false };
    const reset = vars.with(Object.fromEntries(order.map((s) => [left(s), this.attempts.toString(16)])));
    return this.pick(reset) ?? { slot: null, state: reset, saved: true };
  }

  private contractOnly(vars: EnvVars): EnvVars {
    const names = new Set([ORDER, TRYING, ...this.slots.map(left)]);
    return EnvVars.fromPairs(vars.toPairs().filter(([k]) => names.has(k)));
  }

  describe(vars: EnvVars): Record<string, string> {
    return vars.toRecord();
  }

  private pick(vars: EnvVars): BootChoice<EnvVars> | undefined {
    const slot = this.order(vars).find((s) => this.triesLeft(vars, s) > 0);
    if (slot === undefined) return undefined;
    const state = vars.with({ [left(slot)]: (this.triesLeft(vars, slot) - 1).toString(16) });
    return { slot, state, saved: true };
  }

  private clearTrying(vars: EnvVars, slot: SlotName): Record<string, string | null> {
    return vars.get(TRYING) === slot ? { [TRYING]: null } : {};
  }
}
