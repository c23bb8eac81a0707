// Generic BootFlagBackend: load the state, apply one pure scheme step, refuse unsafe results, store with one write.
import { AbuError } from '../core/errors';
import type { SlotBootStatus, SlotName } from '../core/slot';
import type { BootFlagBackend } from './boot-flag-backend';
import type { BootScheme } from './boot-scheme';

/** Loads and stores a scheme's state. `save` gets the loaded snapshot so it can write power-safely. */
export interface BootStateStore<S, Snapshot> {
  readonly description: string;
  load(): Promise<{ state: S; snapshot: Snapshot }>;
  /** Exactly one power-safe write of `state`. */
  save(state: S, from: Snapshot): Promise<void>;
}

export class SchemeBackend<S, Snapshot> implements BootFlagBackend {
  constructor(
    readonly kind: string,
    readonly slots: readonly SlotName[],
    readonly scheme: BootScheme<S>,
    readonly stateStore: BootStateStore<S, Snapshot>,
  ) {}

  async status(): Promise<SlotBootStatus[]> {
    return this.scheme.status((await this.stateStore.load()).state);
  }

  /** Refused when no other slot is good: marking the last good slot bad would leave nothing proven to boot. */
  async markBad(slot: SlotName): Promise<void> {
    await this.change(slot, 'mark bad', (s) => this.scheme.markBad(s, slot), (after) =>
      after.some((st) => st.state === 'good') ? undefined : `no other slot is good, so ${slot} must stay bootable`,
    );
  }

  async activate(slot: SlotName): Promise<void> {
    await this.change(slot, 'activate', (s) => this.scheme.activate(s, slot), (after) =>
      after.some((st) => st.state !== 'bad') ? undefined : 'the result would leave no bootable slot',
    );
  }

  async markGood(slot: SlotName): Promise<void> {
    await this.change(slot, 'mark good', (s) => this.scheme.markGood(s, slot), () => undefined);
  }

  private async change(
    slot: SlotName,
    what: string,
    step: (s: S) => S,
    refusal: (after: SlotBootStatus[]) => string | undefined,
  ): Promise<void> {
    if (!this.slots.includes(slot)) {
      throw new AbuError('ABU_ERR_SLOT_UNKNOWN', `${this.kind}: no slot named "${slot}" (slots: ${this.slots.join(', ')})`);
    }
    const { state, snapshot } = await this.stateStore.load();
    const next = step(state);
    const reason = refusal(this.scheme.status(next));
    if (reason) throw new AbuError('ABU_ERR_ACTIVATE_REFUSED', `${this.kind}: refusing to ${what} ${slot}: ${reason}`);
    await this.stateStore.save(next, snapshot);
  }
}
