// Bootloader scenarios as data: env before -> slot booted -> env after, for one power-on.
// The simulated bootloader must match every row (boot-scenarios.test.ts); the QEMU system tests boot the real
// U-Boot (bootloader-config/uboot/boot.cmd) and GRUB (bootloader-config/grub/grub.cfg) on the same rows.
// `env` values are exact variable strings (U-Boot counters are hex); android rows use "<slot>.<field>" keys.

export interface BootScenario {
  name: string;
  kind: 'uboot' | 'grub' | 'android';
  before: Record<string, string>;
  /** Slot the bootloader starts; null = it finds none and boots nothing. */
  booted: 'A' | 'B' | null;
  /** The complete env after this boot (identical to `before` when the bootloader saved nothing). */
  after: Record<string, string>;
}

const U = (order: string, a: string, b: string, extra: Record<string, string> = {}) => ({ BOOT_ORDER: order, BOOT_A_LEFT: a, BOOT_B_LEFT: b, ...extra });
const G = (order: string, aOk: string, aTry: string, bOk: string, bTry: string, extra: Record<string, string> = {}) =>
  ({ ORDER: order, A_OK: aOk, A_TRY: aTry, B_OK: bOk, B_TRY: bTry, ...extra });
const slot = (s: string, priority: number, tries: number, successful: 0 | 1, verity: 0 | 1 = 0) => ({
  [`${s}.priority`]: String(priority), [`${s}.tries`]: String(tries), [`${s}.successful`]: String(successful), [`${s}.verity`]: String(verity),
});

export const BOOT_SCENARIOS: readonly BootScenario[] = [
  // U-Boot, RAUC scheme: first slot in BOOT_ORDER with BOOT_<x>_LEFT > 0; count down and save before booting.
  { name: 'healthy A counts one try', kind: 'uboot', before: U('A B', '3', '3'), booted: 'A', after: U('A B', '2', '3') },
  { name: 'B activated boots B first', kind: 'uboot', before: U('B A', '3', '3', { ABU_TRYING: 'B' }), booted: 'B', after: U('B A', '3', '2', { ABU_TRYING: 'B' }) },
  { name: 'B on its last try', kind: 'uboot', before: U('B A', '3', '1', { ABU_TRYING: 'B' }), booted: 'B', after: U('B A', '3', '0', { ABU_TRYING: 'B' }) },
  { name: 'B out of tries falls back to A', kind: 'uboot', before: U('B A', '3', '0', { ABU_TRYING: 'B' }), booted: 'A', after: U('B A', '2', '0', { ABU_TRYING: 'B' }) },
  { name: 'B marked bad is skipped', kind: 'uboot', before: U('A', '1', '0'), booted: 'A', after: U('A', '0', '0') },
  { name: 'all out of tries: reset to 3 and pick again', kind: 'uboot', before: U('A B', '0', '0'), booted: 'A', after: U('A B', '2', '3') },
  { name: 'reset only counts slots in BOOT_ORDER', kind: 'uboot', before: U('B', '0', '0'), booted: 'B', after: U('B', '0', '2') },
  { name: 'counters are hex: a -> 9', kind: 'uboot', before: U('A B', 'a', '3'), booted: 'A', after: U('A B', '9', '3') },
  { name: 'counters are hex: 10 is not a one-digit counter', kind: 'uboot', before: U('A B', '10', '3'), booted: 'B', after: U('A B', '10', '2') },
  { name: 'garbage counter counts as no tries', kind: 'uboot', before: U('A B', 'x', '2'), booted: 'B', after: U('A B', 'x', '1') },
  { name: 'empty BOOT_ORDER boots nothing and saves nothing', kind: 'uboot', before: U('', '3', '3'), booted: null, after: U('', '3', '3') },
  { name: 'counters are lowercase hex: F is not a counter', kind: 'uboot', before: U('A B', 'F', '3'), booted: 'B', after: U('A B', 'F', '2') },
  { name: 'the save keeps only the contract variables', kind: 'uboot', before: U('A B', '2', '3', { bootdelay: '0', serial: 'x y' }), booted: 'A', after: U('A B', '1', '3') },
  { name: 'a boot that saves nothing keeps other variables', kind: 'uboot', before: U('', '3', '3', { serial: 'x y' }), booted: null, after: U('', '3', '3', { serial: 'x y' }) },

  // GRUB, RAUC scheme: first slot in ORDER with <x>_OK=1 and <x>_TRY=0; set <x>_TRY=1 and save before booting.
  { name: 'healthy A takes its try', kind: 'grub', before: G('A B', '1', '0', '1', '0'), booted: 'A', after: G('A B', '1', '1', '1', '0') },
  { name: 'B activated boots B', kind: 'grub', before: G('B A', '1', '0', '1', '0', { ABU_TRYING: 'B' }), booted: 'B', after: G('B A', '1', '0', '1', '1', { ABU_TRYING: 'B' }) },
  { name: 'B tried and not confirmed falls back to A', kind: 'grub', before: G('B A', '1', '0', '1', '1', { ABU_TRYING: 'B' }), booted: 'A', after: G('B A', '1', '1', '1', '1', { ABU_TRYING: 'B' }) },
  { name: 'A unconfirmed, B untried: B boots', kind: 'grub', before: G('A B', '1', '1', '1', '0'), booted: 'B', after: G('A B', '1', '1', '1', '1') },
  { name: 'all tried: reset TRY of OK slots and pick again', kind: 'grub', before: G('A B', '1', '1', '1', '1'), booted: 'A', after: G('A B', '1', '1', '1', '0') },
  { name: 'B bad (OK=0) is skipped, A reset and booted', kind: 'grub', before: G('B A', '1', '1', '0', '0'), booted: 'A', after: G('B A', '1', '1', '0', '0') },
  { name: 'no slot OK boots nothing and saves nothing', kind: 'grub', before: G('A B', '0', '0', '0', '0'), booted: null, after: G('A B', '0', '0', '0', '0') },
  { name: 'other variables survive save_env', kind: 'grub', before: G('A B', '1', '0', '1', '0', { timeout: '5', x: 'a b' }), booted: 'A', after: G('A B', '1', '1', '1', '0', { timeout: '5', x: 'a b' }) },
  { name: 'slot missing from ORDER is never booted', kind: 'grub', before: G('B', '1', '0', '1', '1'), booted: 'B', after: G('B', '1', '0', '1', '1') },

  // Android, U-Boot ab_select_slot: best bootable by priority, then successful, then tries; unproven pays a try.
  { name: 'fresh misc: equal slots, A wins the tie', kind: 'android', before: { ...slot('A', 15, 7, 0), ...slot('B', 15, 7, 0) }, booted: 'A', after: { ...slot('A', 15, 6, 0), ...slot('B', 15, 7, 0) } },
  { name: 'successful A boots without a write', kind: 'android', before: { ...slot('A', 15, 1, 1), ...slot('B', 14, 1, 1) }, booted: 'A', after: { ...slot('A', 15, 1, 1), ...slot('B', 14, 1, 1) } },
  { name: 'activated B pays a try', kind: 'android', before: { ...slot('A', 14, 1, 1), ...slot('B', 15, 6, 0) }, booted: 'B', after: { ...slot('A', 14, 1, 1), ...slot('B', 15, 5, 0) } },
  { name: 'B out of tries falls back to A', kind: 'android', before: { ...slot('A', 14, 1, 1), ...slot('B', 15, 0, 0) }, booted: 'A', after: { ...slot('A', 14, 1, 1), ...slot('B', 15, 0, 0) } },
  { name: 'verity-corrupted B is skipped', kind: 'android', before: { ...slot('A', 14, 1, 1), ...slot('B', 15, 3, 1, 1) }, booted: 'A', after: { ...slot('A', 14, 1, 1), ...slot('B', 15, 3, 1, 1) } },
  { name: 'same priority: successful beats unproven', kind: 'android', before: { ...slot('A', 15, 1, 1), ...slot('B', 15, 6, 0) }, booted: 'A', after: { ...slot('A', 15, 1, 1), ...slot('B', 15, 6, 0) } },
  { name: 'priority 0 is unbootable', kind: 'android', before: { ...slot('A', 0, 7, 1), ...slot('B', 0, 7, 0) }, booted: null, after: { ...slot('A', 0, 7, 1), ...slot('B', 0, 7, 0) } },
];
