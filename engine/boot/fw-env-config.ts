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

// strtoul/strtoll with base 0, as libubootenv reads these fields: 0x hex, leading-0 octal, else decimal.
function parseNumber(text: string, where: string, allowNegative: boolean): number {
  const m = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m || (m[1] && !allowNegative)) bad(where, `"${text}" is not a ${allowNegative ? '' : 'non-negative '}number`);
  const body = m[2];
  const value = /^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body[0] === '0' ? parseInt(body, 8) : parseInt(body, 10);
  if (!Number.isSafeInteger(value)) bad(where, `"${text}" is out of range`);
  return m[1] ? -value : value;
}

function parseLine(line: string, where: string, baseDir: string): FwEnvCopy {
  const f = line.trim().split(/\s+/);
  if (f.length < 3) bad(where, 'expected "device offset size [sectorsize [numsectors]]"');
  const copy: FwEnvCopy = {
    device: path.isAbsolute(f[0]) ? f[0] : path.join(baseDir, f[0]),
    offset: parseNumber(f[1], where, true),
    size: parseNumber(f[2], where, false),
  };
  if (copy.size < 8) bad(where, `environment size ${copy.size} is too small`);
  if (f[3] !== undefined) copy.sectorSize = parseNumber(f[3], where, false);
  if (f[4] !== undefined) copy.numSectors = parseNumber(f[4], where, false);
  return copy;
}

/**
 * Parse fw_env.config text. Relative device paths resolve against `baseDir` (the config's folder), so a
 * config can sit next to the image it describes. Comment (#) and blank lines are skipped.
 */
export function parseFwEnvConfig(text: string, baseDir: string, name = 'fw_env.config'): FwEnvConfig {
  const copies: FwEnvCopy[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line) copies.push(parseLine(line, `${name} line ${i + 1}`, baseDir));
  });
  if (copies.length === 0) bad(name, 'no environment configured');
  if (copies.length > 2) bad(name, 'at most two lines (a redundant pair) are supported');
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
