// Finds the slot the bootloader started: abu.slot= or rauc.slot= on the kernel command line, or a fixed name.
import { promises as fs } from 'node:fs';
import { AbuError } from '../core/errors';
import type { SlotName } from '../core/slot';
import type { AbuConfig } from '../config';

export async function bootedSlot(config: AbuConfig): Promise<SlotName> {
  const how = config.bootedSlot;
  if ('fixed' in how) return how.fixed;
  let cmdline: string;
  try {
    cmdline = await fs.readFile(how.cmdline, 'utf8');
  } catch (e) {
    throw new AbuError('ABU_ERR_BOOTED_SLOT_UNKNOWN', `cannot read ${how.cmdline}: ${(e as Error).message}`, { cause: e });
  }
  const slot = slotFromCmdline(cmdline);
  const names = config.slots.map((s) => s.name);
  if (!slot || !names.includes(slot)) {
    throw new AbuError('ABU_ERR_BOOTED_SLOT_UNKNOWN', `kernel command line (${how.cmdline}) names no configured slot via abu.slot= or rauc.slot=; slots: ${names.join(', ')}`);
  }
  return slot;
}

export function slotFromCmdline(cmdline: string): string | null {
  for (const word of cmdline.trim().split(/\s+/)) {
    const m = /^(?:abu|rauc)\.slot=(.+)$/.exec(word);
    if (m) return m[1];
  }
  return null;
}
