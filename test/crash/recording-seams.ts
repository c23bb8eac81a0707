// Recording layers at the engine's three write seams: the slot store, the boot-flag backend's env store, the state file.
// Why at the TypeScript seams: every byte abu writes to a slot, a boot store or its state passes through exactly
// these three interfaces, so recording here sees the full write/flush order without a kernel-level recorder.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ENV_SECTOR, FileEnvStore, resolveRegions, type EnvRegion, type EnvWrite } from '../../engine/boot/env-store';
import type { EnvStoreOpener } from '../../engine/boot/lazy-env-store';
import type { SlotName } from '../../engine/core/slot';
import type { SlotHandle, SlotStore, SlotTarget } from '../../engine/slots/slot-store';
import { StateStore, type PersistedState } from '../../engine/state/state-store';
import type { WriteLog } from './write-log';

async function readAt(file: string, position: number, length: number): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, position);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Logs every slot write that changes bytes (one unit per chunk write) and every fdatasync. */
export class RecordingSlotStore implements SlotStore {
  constructor(private readonly real: SlotStore, private readonly log: WriteLog) {}

  classes(slot: SlotName): string[] {
    return this.real.classes(slot);
  }

  resolve(slot: SlotName, slotClass: string): Promise<SlotTarget> {
    return this.real.resolve(slot, slotClass);
  }

  openForRead(target: SlotTarget): Promise<SlotHandle> {
    return this.real.openForRead(target);
  }

  async openForWrite(target: SlotTarget, booted: SlotName): Promise<SlotHandle> {
    const handle = await this.real.openForWrite(target, booted);
    const log = this.log;
    const record = async (buf: Buffer, offset: number, write: () => Promise<void>) => {
      const before = await readAt(target.device, target.offset + offset, buf.length);
      await write();
      if (!before.equals(buf)) log.write('slot', target.device, target.offset + offset, buf);
    };
    return Object.assign(Object.create(handle) as SlotHandle, {
      verifyAndWrite: (buf: Buffer, offset: number, crc: number, sha: Buffer) => record(buf, offset, () => handle.verifyAndWrite(buf, offset, crc, sha)),
      write: (buf: Buffer, offset: number) => record(buf, offset, () => handle.write(buf, offset)),
      datasync: async () => {
        await handle.datasync();
        log.flush(target.device, 'slot');
      },
    });
  }
}

/** The env store split into 512-byte sector units (what a disk writes atomically), each logged when it changes bytes. */
class RecordingEnvStore extends FileEnvStore {
  constructor(regions: readonly EnvRegion[], private readonly log: WriteLog) {
    super(regions);
  }

  protected override async apply(writes: EnvWrite[]): Promise<void> {
    const units = writes.flatMap(sectorUnits);
    const before = await Promise.all(units.map((u) => readAt(u.device, u.position, u.bytes.length)));
    await super.apply(writes);
    units.forEach((u, i) => !before[i].equals(u.bytes) && this.log.write('boot', u.device, u.position, u.bytes));
    if (writes.length > 0) this.log.flush(writes[0].device, 'boot');
  }
}

function sectorUnits(w: EnvWrite): EnvWrite[] {
  const out: EnvWrite[] = [];
  for (let at = w.position; at < w.position + w.bytes.length; ) {
    const stop = Math.min(w.position + w.bytes.length, (Math.floor(at / ENV_SECTOR) + 1) * ENV_SECTOR);
    out.push({ device: w.device, position: at, bytes: w.bytes.subarray(at - w.position, stop - w.position) });
    at = stop;
  }
  return out;
}

export function recordingEnvOpener(log: WriteLog): EnvStoreOpener {
  return async (regions) => new RecordingEnvStore(await resolveRegions(regions), log);
}

/**
 * Logs each atomic replace of state.json as its rename (the temp file was written and fsynced before it) and the
 * folder fsync after it, the order engine/state/atomic-file.ts issues them.
 */
export class RecordingStateStore extends StateStore {
  private readonly stateFile: string;

  constructor(stateDir: string, private readonly log: WriteLog) {
    super(stateDir);
    this.stateFile = path.join(stateDir, 'state.json');
  }

  override async save(state: PersistedState): Promise<void> {
    await super.save(state);
    this.log.rename(this.stateFile, path.dirname(this.stateFile), await fs.readFile(this.stateFile));
    this.log.flush(path.dirname(this.stateFile), 'state');
  }
}
