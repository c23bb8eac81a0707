// The slot model shared by every layer: names, states and what abu records about each slot.

/** A slot name as the bootloader knows it ("A", "B"). */
export type SlotName = string;

/** Boot state of a slot as the boot-flag backend reports it. */
export type SlotBootState = 'good' | 'bad' | 'trying';

export interface SlotBootStatus {
  slot: SlotName;
  state: SlotBootState;
  /** Boot attempts the bootloader will still make before falling back (0 when bad). */
  triesLeft: number;
  /** True when the bootloader picks this slot first on the next boot. */
  primary: boolean;
}

/** What abu recorded about the release in a slot (from its state file). */
export interface SlotRelease {
  version: string;
  description: string;
  irreversible: boolean;
  installedAt: string;
  /** SHA-256 of the signed manifest that wrote the slot, hex. */
  manifestSha256: string;
}
