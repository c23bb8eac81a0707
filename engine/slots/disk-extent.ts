// Where a target physically lives (disk identity + byte range), so abu can refuse a write overlapping the booted slot.
import { promises as fs } from 'node:fs';

export interface DiskExtent {
  /** Same key = same underlying disk (block device major:minor of the whole disk, or file dev:ino). */
  disk: string;
  start: number;
  end: number;
}

/** Resolve a device path plus an offset window to the whole disk it belongs to. */
export async function diskExtent(device: string, offset: number, size: number): Promise<DiskExtent> {
  const st = await fs.stat(device);
  if (!st.isBlockDevice()) return { disk: `file:${st.dev}:${st.ino}`, start: offset, end: offset + size };
  const major = Math.floor(st.rdev / 256) & 0xfff;
  const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
  const sys = `/sys/dev/block/${major}:${minor}`;
  const partStart = await readNumber(`${sys}/start`);
  if (partStart === null) return { disk: `blk:${major}:${minor}`, start: offset, end: offset + size };
  // A partition: identify its parent disk and shift the range by the partition's start sector.
  const parentDev = (await fs.readFile(`${sys}/../dev`, 'utf8')).trim();
  const start = partStart * 512 + offset;
  return { disk: `blk:${parentDev}`, start, end: start + size };
}

export function overlaps(a: DiskExtent, b: DiskExtent): boolean {
  return a.disk === b.disk && a.start < b.end && b.start < a.end;
}

async function readNumber(file: string): Promise<number | null> {
  try {
    return Number((await fs.readFile(file, 'utf8')).trim());
  } catch {
    return null;
  }
}
