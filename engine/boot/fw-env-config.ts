// Parser for libubootenv's legacy fw_env.config: `device offset size [sectorsize [numsectors]]`, one line per copy.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AbuError } from '../core/errors';

/** One env copy as configured. A negative offset counts back from the end of the device. */
export interface FwEnvCopy {
  device: string;
  offset: number;
  size: number;
  sectorSize?: number;
  numSectors?: number;
}

/** One line: a single-copy env; two lines: a redundant env (copy 0 first, as U-Boot numbers them). */
export interface FwEnvConfig {
  copies: FwEnvCopy[];
}

function bad(where: string, msg: string): never {
  throw new AbuError('ABU_ERR_BOOT_BACKEND', `fw_env.config ${where}: ${msg}`);
}

/** Largest env abu lays out (the addon's limit, bootenv_common.h kMaxEnvSize): a bigger size is a config error. */
export const MAX_ENV_SIZE = 64 * 1024 * 1024;

// libubootenv 0.3.2 reads a line with sscanf("%ms %lli %zx %zx %lx"): the offset is base 0 (0x hex, leading-0
// octal, else decimal) but size, sector size and sector count are hex with or without 0x: `1000` is 0x1000.
const OFFSET = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/;
const HEX = /^(?:0[xX])?([0-9a-fA-F]+)$/;

function parseOffset(text: string): number | undefined {
  const m = OFFSET.exec(text);
  if (!m) return undefined;
  const body = m[2];
  const value = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body[0] === '0' ? parseInt(body, 8) : parseInt(body, 10);
  return m[1] ? -value : value;
}

function parseHex(text: string | undefined): number | undefined {
  const m = text === undefined ? null : HEX.exec(text);
  return m ? parseInt(m[1], 16) : undefined;
}

/** The fields sscanf converts, in order, up to the first that does not parse; null when fewer than three do. */
function scanLine(line: string): [string, number, number, number?, number?] | null {
  const f = line.trim().split(/\s+/);
  const offset = f.length >= 3 ? parseOffset(f[1]) : undefined;
  const size = offset === undefined ? undefined : parseHex(f[2]);
  if (size === undefined) return null;
  const sectorSize = parseHex(f[3]);
  const numSectors = sectorSize === undefined ? undefined : parseHex(f[4]);
  return [f[0], offset!, size, sectorSize, numSectors];
}

function parseLine(line: string, where: string, baseDir: string): FwEnvCopy | null {
  const scanned = scanLine(line);
  if (!scanned) return null; // libubootenv skips a line without device, offset and size
  const [device, offset, size, sectorSize, numSectors] = scanned;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size)) bad(where, 'a number is out of range');
  if (size < 8) bad(where, `environment size ${size} is too small`);
  if (size > MAX_ENV_SIZE) bad(where, `environment size ${size} is above abu's limit of ${MAX_ENV_SIZE} bytes`);
  const copy: FwEnvCopy = { device: path.isAbsolute(device) ? device : path.join(baseDir, device), offset, size };
  if (sectorSize !== undefined) copy.sectorSize = sectorSize;
  if (numSectors !== undefined) copy.numSectors = numSectors;
  return copy;
}

/**
 * Parse fw_env.config text as libubootenv does. Relative device paths resolve against `baseDir` (the config's
 * folder), so a config can sit next to the image it describes. Comment (#), blank and short lines are skipped,
 * and only the first two environments count (libubootenv stops reading there), so a longer file is not refused.
 */
export function parseFwEnvConfig(text: string, baseDir: string, name = 'fw_env.config'): FwEnvConfig {
  const copies: FwEnvCopy[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && copies.length < 2; i++) {
    const line = lines[i].replace(/#.*$/, '').trim();
    const copy = line ? parseLine(line, `${name} line ${i + 1}`, baseDir) : null;
    if (copy) copies.push(copy);
  }
  if (copies.length === 0) bad(name, 'no environment configured');
  if (copies.length === 2 && copies[0].size !== copies[1].size) bad(name, 'redundant environments have unequal size');
  return { copies };
}

export async function loadFwEnvConfig(file: string): Promise<FwEnvConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new AbuError('ABU_ERR_BOOT_BACKEND', `cannot read fw_env.config ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseFwEnvConfig(text, path.dirname(path.resolve(file)), file);
}
