// The pure half of a boot-flag backend: one A/B variable scheme, both as abu changes it and as the bootloader runs it.
import type { SlotBootStatus, SlotName } from '../core/slot';

/** Result of one simulated bootloader run over a state. */
export interface BootChoice<S> {
  /** Slot the bootloader starts, or null when it finds none. */
  slot: SlotName | null;
  /** State after the bootloader's own save (equal to the input when it saved nothing). */
  state: S;
  /** True when the bootloader writes the env during this boot. */
  saved: boolean;
}

/**
 * A scheme over an in-memory state S (env variables, a bootloader_control struct). All functions are pure:
 * the backend loads S, applies one function and stores the result with one write.
 */
export interface BootScheme<S> {
  status(state: S): SlotBootStatus[];
  markBad(state: S, slot: SlotName): S;
  activate(state: S, slot: SlotName): S;
  markGood(state: S, slot: SlotName): S;
  /** Exactly what the boot script (or the bootloader's built-in logic) does on one power-on. */
  boot(state: S): BootChoice<S>;
  /** The state as flat name -> value strings, for scenario tables and logs. */
  describe(state: S): Record<string, string>;
}
