// RAUC's GRUB scheme: ORDER + <slot>_OK + <slot>_TRY (one try per activation), as bootloader-config/grub/grub.cfg runs it.
import type { SlotBootStatus, SlotName } from '../core/slot';
import type { BootChoice, BootScheme } from './boot-scheme';
import { EnvVars } from './env-vars';
import { TRYING } from './uboot-scheme';

const ORDER = 'ORDER';
const ok = (slot: SlotName) => `${slot}_OK`;
const tried = (slot: SlotName) => `${slot}_TRY`;

export class GrubScheme implements BootScheme<EnvVars> {
  constructor(readonly slots: readonly SlotName[]) {}

  order(vars: EnvVars): SlotName[] {
    return (vars.get(ORDER) ?? '').split(/\s+/).filter((s) => s !== '');
  }

  /** grub.cfg compares with `[ "${A_OK}" = "1" ]`: only the exact string counts. */
  private enabled(vars: EnvVars, slot: SlotName): boolean {
    return this.order(vars).includes(slot) && vars.get(ok(slot)) === '1';
  }

  private untried(vars: EnvVars, slot: SlotName): boolean {
    return vars.get(tried(slot)) === '0';
  }

  status(vars: EnvVars): SlotBootStatus[] {
    const primary = this.boot(vars).slot;
    return this.slots.map((slot) => ({
      slot,
      state: !this.enabled(vars, slot) ? 'bad' : vars.get(TRYING) === slot ? 'trying' : 'good',
      triesLeft: this.enabled(vars, slot) && this.untried(vars, slot) ? 1 : 0,
      primary: slot === primary,
    }));
  }

  markBad(vars: EnvVars, slot: SlotName): EnvVars {
    return vars.with({ [ok(slot)]: '0', [tried(slot)]: '0', ...this.clearTrying(vars, slot) });
  }

  activate(vars: EnvVars, slot: SlotName): EnvVars {
    const order = [slot, ...this.order(vars).filter((s) => s !== slot)];
    return vars.with({ [ORDER]: order.join(' '), [ok(slot)]: '1', [tried(slot)]: '0', [TRYING]: slot });
  }

  markGood(vars: EnvVars, slot: SlotName): EnvVars {
    const order = this.order(vars);
    const next = order.includes(slot) ? order : [...order, slot];
    return vars.with({ [ORDER]: next.join(' '), [ok(slot)]: '1', [tried(slot)]: '0', ...this.clearTrying(vars, slot) });
  }

  /**
   * First slot in ORDER with OK=1 and TRY=0: set its TRY=1, save, boot. None: every enabled slot gets TRY=0
   * again (RAUC's fallback), save, pick again; so a slot that was never confirmed still boots rather than nothing.
   */
  boot(vars: EnvVars): BootChoice<EnvVars> {
    const first = this.pick(vars);
    if (first) return first;
    const enabled = this.order(vars).filter((s) => this.enabled(vars, s));
    if (enabled.length === 0) return { slot: null, state: vars, saved: false };
    const reset = vars.with(Object.fromEntries(enabled.map((s) => [tried(s), '0'])));
    return this.pick(reset) ?? { slot: null, state: reset, saved: true };
  }

  describe(vars: EnvVars): Record<string, string> {
    return vars.toRecord();
  }

  private pick(vars: EnvVars): BootChoice<EnvVars> | undefined {
    const slot = this.order(vars).find((s) => this.enabled(vars, s) && this.untried(vars, s));
    if (slot === undefined) return undefined;
    return { slot, state: vars.with({ [tried(slot)]: '1' }), saved: true };
  }

  private clearTrying(vars: EnvVars, slot: SlotName): Record<string, string | null> {
    return vars.get(TRYING) === slot ? { [TRYING]: null } : {};
  }
}
