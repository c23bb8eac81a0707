// Power-safe access to bootloader env bytes in a file or block device: positioned reads, in-place writes, fsync.
import { promises as fs } from 'node:fs';
import { deviceInfo } from '../../native/block-io';
import { AbuError, withContext } from '../core/errors';

/** A byte range of a file or block device holding one env copy. `offset` may be negative (from the end). */
export interface EnvRegion {
  device: string;
  offset: number;
  size: number;
}

/** One positioned write of a region update. */
export interface EnvWrite {
  device: string;
  position: number;
  bytes: Buffer;
}

/** Sector size used to split writes: disks update whole sectors atomically, nothing larger. */
export const ENV_SECTOR = 512;

/**
 * Where env copies live. Writes never truncate or resize: the bootloader finds the env by position.
 * A write returns only after fsync succeeded; an fsync error is fatal for the operation (no retry).
 */
export interface EnvStore {
  readonly regions: readonly EnvRegion[];
  read(index: number): Promise<Buffer>;
  /**
   * Replace region `index` with `bytes`. With `previous` (the bytes just read), only the 512-byte sectors
   * that differ are written, which keeps an in-place update to a single sector when the change fits in one.
   */
  write(index: number, bytes: Buffer, previous?: Buffer): Promise<void>;
}

/** Resolve negative offsets and check every region lies inside its device. */
export async function resolveRegions(regions: readonly EnvRegion[]): Promise<EnvRegion[]> {
  const out: EnvRegion[] = [];
  for (const r of regions) {
    let size: number;
    try {
      size = (await deviceInfo(r.device)).size;
    } catch (e) {
      throw withContext(`boot env: cannot open ${r.device}`, e, 'ABU_ERR_IO');
    }
    const offset = r.offset < 0 ? size + r.offset : r.offset;
    if (offset < 0 || offset + r.size > size) {
      throw new AbuError('ABU_ERR_BOOT_BACKEND', `boot env region ${r.offset}+${r.size} lies outside ${r.device} (${size} bytes)`);
    }
    out.push({ device: r.device, offset, size: r.size });
  }
  return out;
}

/** The writes that turn `previous` into `bytes`: whole changed sectors, aligned to the device, in order. */
export function changedSectors(region: EnvRegion, bytes: Buffer, previous?: Buffer): EnvWrite[] {
  if (!previous || previous.length !== bytes.length) return [{ device: region.device, position: region.offset, bytes }];
  const writes: EnvWrite[] = [];
  const end = region.offset + region.size;
  for (let start = region.offset; start < end; ) {
    const stop = Math.min(end, (Math.floor(start / ENV_SECTOR) + 1) * ENV_SECTOR);
    const a = start - region.offset;
    const b = stop - region.offset;
    if (!bytes.subarray(a, b).equals(previous.subarray(a, b))) {
      writes.push({ device: region.device, position: start, bytes: bytes.subarray(a, b) });
    }
    start = stop;
  }
  return writes;
}

/** EnvStore over files or block devices through node:fs; regions must already be resolved. */
export class FileEnvStore implements EnvStore {
  constructor(readonly regions: readonly EnvRegion[]) {}

  static async open(regions: readonly EnvRegion[]): Promise<FileEnvStore> {
    return new FileEnvStore(await resolveRegions(regions));
  }

  async read(index: number): Promise<Buffer> {
    const r = this.regions[index];
    const buf = Buffer.alloc(r.size);
    const fh = await this.openOrFail(r.device, 'r');
    try {
      const { bytesRead } = await fh.read(buf, 0, r.size, r.offset);
      if (bytesRead !== r.size) throw new AbuError('ABU_ERR_IO', `boot env: short read of ${r.device} at ${r.offset}`);
    } finally {
      await fh.close();
    }
    return buf;
  }

  async write(index: number, bytes: Buffer, previous?: Buffer): Promise<void> {
    const r = this.regions[index];
    if (bytes.length !== r.size) throw new AbuError('ABU_ERR_INTERNAL', `boot env: ${bytes.length} bytes for a ${r.size}-byte region`);
    await this.apply(changedSectors(r, bytes, previous));
  }

  /** Positioned writes then one fsync; 'r+' opens read-write without O_TRUNC. Overridden by fault-injection tests. */
  protected async apply(writes: EnvWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const fh = await this.openOrFail(writes[0].device, 'r+');
    try {
      for (const w of writes) await fh.write(w.bytes, 0, w.bytes.length, w.position);
      await fh.sync();
    } catch (e) {
      throw withContext(`boot env: writing ${writes[0].device}`, e, 'ABU_ERR_IO');
    } finally {
      await fh.close();
    }
  }

  private async openOrFail(device: string, flags: string): Promise<fs.FileHandle> {
    try {
      return await fs.open(device, flags);
    } catch (e) {
      throw withContext(`boot env: cannot open ${device}`, e, 'ABU_ERR_IO');
    }
  }
}
