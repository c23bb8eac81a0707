// SlotStore for slots on block devices or files: a whole device, or a GPT partition of a disk or disk image.
import { deviceInfo } from '../../native/block-io';
import { AbuError } from '../core/errors';
import type { SlotName } from '../core/slot';
import type { SlotConfig, SlotTargetConfig } from '../config';
import { BlockFileSlotHandle } from './block-file-slot-handle';
import { diskExtent, overlaps } from './disk-extent';
import { readGpt } from './gpt';
import type { SlotHandle, SlotStore, SlotTarget } from './slot-store';

export class DeviceSlotStore implements SlotStore {
  constructor(private readonly slots: SlotConfig[]) {}

  classes(slot: SlotName): string[] {
    return Object.keys(this.slotConfig(slot).targets);
  }

  async resolve(slot: SlotName, slotClass: string): Promise<SlotTarget> {
    const t = this.slotConfig(slot).targets[slotClass];
    if (!t) throw new AbuError('ABU_ERR_NO_SLOT_CLASS', `slot ${slot} has no "${slotClass}" target; configured: ${this.classes(slot).join(', ')}`);
    const { offset, size } = await locate(t);
    return { slot, slotClass, device: t.device, offset, size };
  }

  async openForWrite(target: SlotTarget, booted: SlotName): Promise<SlotHandle> {
    if (target.slot === booted) throw activeError(target);
    const mine = await diskExtent(target.device, target.offset, target.size);
    for (const cls of this.classes(booted)) {
      const b = await this.resolve(booted, cls);
      if (overlaps(mine, await diskExtent(b.device, b.offset, b.size))) throw activeError(target, b);
    }
    return BlockFileSlotHandle.open(target, true);
  }

  openForRead(target: SlotTarget): Promise<SlotHandle> {
    return BlockFileSlotHandle.open(target, false);
  }

  private slotConfig(slot: SlotName): SlotConfig {
    const s = this.slots.find((x) => x.name === slot);
    if (!s) throw new AbuError('ABU_ERR_SLOT_UNKNOWN', `no slot named "${slot}"; configured: ${this.slots.map((x) => x.name).join(', ')}`);
    return s;
  }
}

async function locate(t: SlotTargetConfig): Promise<{ offset: number; size: number }> {
  if (t.partition === undefined) return { offset: 0, size: (await deviceInfo(t.device).catch(unopenable(t))).size };
  const part = (await readGpt(t.device).catch(unopenable(t))).find((p) => p.number === t.partition);
  if (!part) throw new AbuError('ABU_ERR_CONFIG', `${t.device} has no GPT partition ${t.partition}`);
  return { offset: part.offset, size: part.size };
}

/**
 * A slot device that cannot be opened (a typo in slots[].targets, a disk not attached) is the config's problem:
 * said so, instead of a bare "ENOENT: ... open" that the history recorded as an internal error.
 */
function unopenable(t: SlotTargetConfig): (e: unknown) => never {
  return (e) => {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOTDIR' && code !== 'ENXIO' && code !== 'ENODEV') throw e;
    throw new AbuError('ABU_ERR_CONFIG', `slot device ${t.device} cannot be opened (${code}): check slots[].targets in the config, or that the disk is attached`, {
      cause: e,
      details: { device: t.device, errno: code },
    });
  };
}

function activeError(target: SlotTarget, booted?: SlotTarget): AbuError {
  const why = booted ? ` (it overlaps booted slot ${booted.slot} on ${booted.device})` : '';
  return new AbuError('ABU_ERR_TARGET_IS_ACTIVE', `refusing to write slot ${target.slot}${why}: it is the running system`, {
    details: { slot: target.slot, device: target.device },
  });
}
