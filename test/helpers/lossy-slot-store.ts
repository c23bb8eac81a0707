// LossySlotStore: wraps the real store; verified writes that touch one slot offset report success but never land.
// Why a fake: a medium that acknowledges a write and loses it cannot be made real here (no device-mapper/dm-flakey).
import type { SlotName } from '../../engine/core/slot';
import type { SlotHandle, SlotStore, SlotTarget } from '../../engine/slots/slot-store';

export class LossySlotStore implements SlotStore {
  constructor(private readonly real: SlotStore, private readonly lostOffset: number) {}

  classes(slot: SlotName): string[] {
    return this.real.classes(slot);
  }

  resolve(slot: SlotName, slotClass: string): Promise<SlotTarget> {
    return this.real.resolve(slot, slotClass);
  }

  async openForWrite(target: SlotTarget, booted: SlotName): Promise<SlotHandle> {
    const handle = await this.real.openForWrite(target, booted);
    const lost = this.lostOffset;
    return Object.assign(Object.create(handle) as SlotHandle, {
      async verifyAndWrite(buf: Buffer, offset: number, crc: number, sha: Buffer) {
        if (offset <= lost && lost < offset + buf.length) return; // acknowledged, never written
        return handle.verifyAndWrite(buf, offset, crc, sha);
      },
    });
  }

  openForRead(target: SlotTarget): Promise<SlotHandle> {
    return this.real.openForRead(target);
  }
}
