// Reads the partition entries of a GPT (primary header at LBA 1) to find where a slot partition lives.
import { promises as fs } from 'node:fs';
import * as zlib from 'node:zlib';
import { AbuError } from '../core/errors';

export interface GptPartition {
  number: number;
  name: string;
  offset: number;
  size: number;
}

const SECTOR = 512;

/** Partitions of a disk or disk image with a 512-byte-sector GPT; the header and entry CRCs are checked. */
export async function readGpt(device: string): Promise<GptPartition[]> {
  const fh = await fs.open(device, 'r');
  try {
    const header = Buffer.alloc(SECTOR);
    await fh.read(header, 0, SECTOR, SECTOR);
    const h = parseHeader(header, device);
    const entries = Buffer.alloc(h.count * h.entrySize);
    await fh.read(entries, 0, entries.length, h.entriesLba * SECTOR);
    if ((zlib.crc32(entries) >>> 0) !== h.entriesCrc) gptError(device, 'partition entry array CRC mismatch');
    return parseEntries(entries, h.count, h.entrySize);
  } finally {
    await fh.close();
  }
}

function parseHeader(b: Buffer, device: string) {
  if (b.toString('latin1', 0, 8) !== 'EFI PART') gptError(device, 'no GPT header at LBA 1');
  const size = b.readUInt32LE(12);
  if (size < 92 || size > SECTOR) gptError(device, `bad GPT header size ${size}`);
  const copy = Buffer.from(b.subarray(0, size));
  copy.writeUInt32LE(0, 16);
  if ((zlib.crc32(copy) >>> 0) !== b.readUInt32LE(16)) gptError(device, 'GPT header CRC mismatch');
  const count = b.readUInt32LE(80);
  const entrySize = b.readUInt32LE(84);
  if (count > 1024 || entrySize < 128 || entrySize > 1024) gptError(device, 'GPT entry table out of range');
  return { entriesLba: Number(b.readBigUInt64LE(72)), count, entrySize, entriesCrc: b.readUInt32LE(88) };
}

function parseEntries(entries: Buffer, count: number, entrySize: number): GptPartition[] {
  const parts: GptPartition[] = [];
  for (let i = 0; i < count; i++) {
    const e = entries.subarray(i * entrySize, (i + 1) * entrySize);
    if (e.subarray(0, 16).every((x) => x === 0)) continue; // unused entry
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    const name = e.toString('utf16le', 56, 128).replace(/\0.*$/s, '');
    parts.push({ number: i + 1, name, offset: first * SECTOR, size: (last - first + 1) * SECTOR });
  }
  return parts;
}

function gptError(device: string, what: string): never {
  throw new AbuError('ABU_ERR_CONFIG', `${device}: ${what}`);
}
