// FaultySlotStore: wraps the real store and fails writes with EIO from a given slot offset on, or ('lose') acknowledges
// the verified write that covers that offset without writing it.
// Why a fake: this machine has no device-mapper (dm-flakey), so a disk that fails or loses writes cannot be made real here.
import type { SlotName } from '../../engine/core/slot';
import type { SlotHandle, SlotStore, SlotTarget } from '../../engine/slots/slot-store';

export class FaultySlotStore implements SlotStore {
  constructor(private readonly real: SlotStore, private readonly failAtOffset: number, private readonly mode: 'eio' | 'lose' = 'eio') {}

  classes(slot: SlotName): string[] {
    return this.real.classes(slot);
  }

  resolve(slot: SlotName, slotClass: string): Promise<SlotTarget> {
    return this.real.resolve(slot, slotClass);
  }

  async openForWrite(target: SlotTarget, booted: SlotName): Promise<SlotHandle> {
    const handle = await this.real.openForWrite(target, booted);
    const failAt = this.failAtOffset;
    const lose = this.mode === 'lose';
    const eio = (offset: number) => Object.assign(new Error(`pwrite at ${offset}: EIO: i/o error (injected)`), { code: 'EIO', errno: -5, syscall: 'pwrite', path: target.device });
    return Object.assign(Object.create(handle) as SlotHandle, {
      async verifyAndWrite(buf: Buffer, offset: number, crc: number, sha: Buffer) {
        if (lose) return offset <= failAt && failAt < offset + buf.length ? undefined : handle.verifyAndWrite(buf, offset, crc, sha);
        if (offset + buf.length > failAt) throw eio(offset);
        return handle.verifyAndWrite(buf, offset, crc, sha);
      },
      async write(buf: Buffer, offset: number) {
        if (offset + buf.length > failAt) throw eio(offset);
        return handle.write(buf, offset);
      },
    });
  }

  openForRead(target: SlotTarget): Promise<SlotHandle> {
    return this.real.openForRead(target);
  }
}
