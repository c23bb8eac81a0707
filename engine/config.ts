// The appliance configuration file (JSON): product, keyring, slots, booted-slot detection, policy, boot flags.
import { promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { AbuError } from './core/errors';
import type { BootFlagBackendConfig } from './boot/boot-flag-backend';
import { parseSiteConfig, type SiteConfig } from './site-config';
import { suggest } from './core/suggest';

/** Where one image class of a slot lives: a block device or file, or a GPT partition of a disk image. */
export interface SlotTargetConfig {
  device: string;
  /** 1-based GPT partition number inside `device` (a disk image file or whole disk). */
  partition?: number;
}

export interface SlotConfig {
  name: string;
  /** slot class ("rootfs", "appfs") -> where it is written. */
  targets: Record<string, SlotTargetConfig>;
}

export interface HealthCheckConfig {
  name: string;
  command: string;
  timeoutSeconds: number;
}

/** What the daemon lets each client use (enforced in transports/http/client-limits.ts). */
export interface HttpLimits {
  /** Sustained requests per second per client address (requests with the token are the operator's: never counted). */
  requestsPerSecond: number;
  /** Requests a client may send at once above the sustained rate (a page load fetches several files). */
  burst: number;
  /** Event streams (/api/events, /api/cluster/events) open at once, all anonymous clients together. */
  eventStreams: number;
  /** Event streams one client address may hold open. */
  eventStreamsPerClient: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = { requestsPerSecond: 20, burst: 40, eventStreams: 64, eventStreamsPerClient: 4 };

export interface AbuConfig {
  /** Directory the config file lives in; relative paths resolve against it. */
  baseDir: string;
  product: string;
  keyring: string;
  stateDir: string;
  slots: SlotConfig[];
  /** How the booted slot is found: a kernel command line file (abu.slot= or rauc.slot=) or a fixed name. */
  bootedSlot: { cmdline: string } | { fixed: string };
  /** Version of the factory image when abu has no record yet (e.g. read from /etc/sw-version). */
  factoryVersion?: { slot: string; version: string } | { versionFile: string };
  bootloader: BootFlagBackendConfig;
  policy: { strictChain: boolean; allowDowngrade: boolean };
  install: { readBack: boolean; adaptive: boolean; activate: boolean; rebootAfterInstall: boolean; inFlightChunks: number; idleTimeoutSeconds: number; checkpointSeconds: number };
  healthChecks: HealthCheckConfig[];
  /** How to restart: a command, or the simulated appliance's reboot. */
  reboot: { command: string[] } | { simulated: true };
  http: { host: string; port: number; token?: string; tls?: { cert: string; key: string }; limits: HttpLimits };
  /** Present when this appliance is a member of a site (engine/cluster); the engine itself never reads it. */
  site?: SiteConfig;
}

type Raw = Record<string, any>;

export async function loadConfig(file: string): Promise<AbuConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new AbuError('ABU_ERR_CONFIG', `cannot read config ${file}: ${unreadable(e as NodeJS.ErrnoException)}`, { cause: e, details: { path: file, errno: (e as NodeJS.ErrnoException).code } });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new AbuError('ABU_ERR_CONFIG', `config ${file} is not valid JSON: ${(e as Error).message}`, { cause: e, details: { path: file } });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new AbuError('ABU_ERR_CONFIG', `config ${file} must be a JSON object ({ "product": ..., "slots": [...], ... }), not ${Array.isArray(raw) ? 'an array' : JSON.stringify(raw)}`, { details: { path: file } });
  }
  return parseConfig(raw as Raw, path.dirname(path.resolve(file)));
}

/**
 * Why a config file cannot be read, with what to do: a missing one is the first thing a new user meets (no
 * --config given, so the default /etc/abu/config.json), and Node's "ENOENT: no such file or directory, open ..." says
 * neither where a config comes from nor how to get one.
 */
function unreadable(e: NodeJS.ErrnoException): string {
  if (e.code === 'ENOENT') return 'no such file; name the appliance\'s config with --config FILE or $ABU_CONFIG (the demo\'s is .abu-demo/config.json; "abu sim create DIR" makes a simulated appliance with one)';
  if (e.code === 'EISDIR') return 'it is a directory; name the config file itself (e.g. DIR/config.json)';
  if (e.code === 'EACCES' || e.code === 'EPERM') return `permission denied (${e.code}); run as a user who may read it (abu runs as root on an appliance)`;
  return e.message;
}

/** Validate and fill defaults; relative paths are resolved against baseDir. */
export function parseConfig(raw: Raw, baseDir: string): AbuConfig {
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.join(baseDir, p));
  checkFields(raw);
  const product = requireString(raw, 'product');
  const slots = parseSlots(raw.slots, abs);
  const names = slots.map((s) => s.name);
  const bootloader = parseBootloader(raw.bootloader, names, abs);
  return {
    baseDir,
    product,
    keyring: abs(requireString(raw, 'keyring')),
    stateDir: abs(requireString(raw, 'stateDir')),
    slots,
    bootedSlot: parseBootedSlot(raw.bootedSlot, names, abs),
    factoryVersion: parseFactoryVersion(raw.factoryVersion, abs),
    bootloader,
    policy: { strictChain: raw.policy?.strictChain ?? true, allowDowngrade: raw.policy?.allowDowngrade ?? false },
    install: {
      readBack: raw.install?.readBack ?? true,
      adaptive: optionalBool(raw.install?.adaptive, true, 'install.adaptive'),
      activate: raw.install?.activate ?? true,
      rebootAfterInstall: raw.install?.rebootAfterInstall ?? false,
      inFlightChunks: clampInt(raw.install?.inFlightChunks ?? defaultInFlightChunks(availableParallelism(), threadpoolSize()), 1, 16, 'install.inFlightChunks'),
      idleTimeoutSeconds: clampInt(raw.install?.idleTimeoutSeconds ?? 30, 1, 3600, 'install.idleTimeoutSeconds'),
      checkpointSeconds: clampNumber(raw.install?.checkpointSeconds ?? 2, 0, 60, 'install.checkpointSeconds'),
    },
    healthChecks: (raw.healthChecks ?? []).map(parseHealthCheck),
    reboot: raw.reboot?.simulated ? { simulated: true } : { command: raw.reboot?.command ?? ['systemctl', 'reboot'] },
    http: {
      host: raw.http?.host ?? '127.0.0.1',
      port: raw.http?.port ?? 8080,
      token: raw.http?.token,
      tls: raw.http?.tls ? { cert: abs(raw.http.tls.cert), key: abs(raw.http.tls.key) } : undefined,
      limits: parseHttpLimits(raw.http?.limits),
    },
    site: raw.site === undefined ? undefined : parseSiteConfig(raw.site, abs, abs(requireString(raw, 'keyring'))),
  };
}

function parseSlots(raw: unknown, abs: (p: string) => string): SlotConfig[] {
  if (!Array.isArray(raw) || raw.length < 2) bad('slots must list at least two slots (A and B)');
  const slots = (raw as Raw[]).map((s) => {
    const name = requireString(s, 'name');
    if (!/^[A-Za-z0-9_]{1,16}$/.test(name)) bad(`slot name "${name}" must be 1-16 letters, digits or _`);
    const targets: Record<string, SlotTargetConfig> = {};
    const rawTargets: Raw = s.targets ?? { rootfs: { device: s.device, partition: s.partition } };
    for (const [cls, t] of Object.entries(rawTargets)) {
      const device = requireString(t as Raw, 'device');
      const partition = (t as Raw).partition;
      if (partition !== undefined) clampInt(partition, 1, 128, `slots.${name}.partition`);
      targets[cls] = { device: abs(device), partition };
    }
    return { name, targets };
  });
  const names = new Set(slots.map((s) => s.name));
  if (names.size !== slots.length) bad('slot names must be unique');
  return slots;
}

function parseBootloader(raw: Raw | undefined, slots: string[], abs: (p: string) => string): BootFlagBackendConfig {
  if (!raw) bad('bootloader section is missing');
  const options: Record<string, unknown> = {};
  // Option values naming files are resolved relative to the config, so configs can be moved as a folder.
  for (const [k, v] of Object.entries(raw!.options ?? {})) {
    options[k] = typeof v === 'string' && /(Config|File|Path|Device)$/.test(k) ? abs(v) : v;
  }
  return { kind: requireString(raw!, 'kind'), slots, attempts: raw!.attempts, options };
}

function parseBootedSlot(raw: Raw | undefined, names: string[], abs: (p: string) => string): AbuConfig['bootedSlot'] {
  if (raw?.fixed !== undefined) {
    if (!names.includes(raw.fixed)) bad(`bootedSlot.fixed "${raw.fixed}" is not a configured slot`);
    return { fixed: raw.fixed };
  }
  return { cmdline: abs(raw?.cmdline ?? '/proc/cmdline') };
}

function parseFactoryVersion(raw: Raw | undefined, abs: (p: string) => string): AbuConfig['factoryVersion'] {
  if (!raw) return undefined;
  if (raw.versionFile) return { versionFile: abs(raw.versionFile) };
  return { slot: requireString(raw, 'slot'), version: requireString(raw, 'version') };
}

/** Each limit defaults separately (transports/http/client-limits.ts says what each bounds). */
function parseHttpLimits(raw: Raw | undefined): HttpLimits {
  const limits = { ...DEFAULT_HTTP_LIMITS };
  for (const key of Object.keys(limits) as (keyof HttpLimits)[]) {
    if (raw?.[key] !== undefined) limits[key] = clampInt(raw[key], 1, 1_000_000, `http.limits.${key}`);
  }
  const unknown = Object.keys(raw ?? {}).filter((k) => !(k in limits));
  if (unknown.length > 0) bad(`http.limits has no field ${unknown.join(', ')} (known: ${Object.keys(limits).join(', ')})`);
  return limits;
}

function parseHealthCheck(raw: Raw): HealthCheckConfig {
  return {
    name: requireString(raw, 'name'),
    command: requireString(raw, 'command'),
    timeoutSeconds: clampInt(raw.timeoutSeconds ?? 30, 1, 3600, 'healthChecks.timeoutSeconds'),
  };
}

function optionalBool(v: unknown, fallback: boolean, what: string): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') bad(`${what} must be true or false`);
  return v as boolean;
}

function requireString(obj: Raw, key: string): string {
  const v = obj?.[key];
  if (typeof v !== 'string' || v.length === 0) bad(`"${key}" must be a non-empty string`);
  return v;
}

function clampInt(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${what} must be an integer in ${min}..${max}`);
  return v as number;
}

/** The fields of each section with fixed keys; the others (slots, bootloader, site, ...) are checked where parsed. */
const KNOWN_FIELDS: Record<string, readonly string[]> = {
  '': ['product', 'keyring', 'stateDir', 'slots', 'bootedSlot', 'factoryVersion', 'bootloader', 'policy', 'install', 'healthChecks', 'reboot', 'http', 'site'],
  policy: ['strictChain', 'allowDowngrade'],
  install: ['readBack', 'adaptive', 'activate', 'rebootAfterInstall', 'inFlightChunks', 'idleTimeoutSeconds', 'checkpointSeconds'],
  http: ['host', 'port', 'token', 'tls', 'limits'],
  reboot: ['command', 'simulated'],
};

/** A mistyped field would silently take its default (`"strictChian": false` leaves strict chains on): refuse it, naming the nearest. */
function checkFields(raw: Raw): void {
  for (const [section, known] of Object.entries(KNOWN_FIELDS)) {
    const obj = section === '' ? raw : raw[section];
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) continue;
    const unknown = Object.keys(obj).find((k) => !known.includes(k));
    if (unknown === undefined) continue;
    const near = suggest(unknown, known);
    bad(`${section || 'the top level'} has no field ${JSON.stringify(unknown)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; known: ${known.join(', ')}`);
  }
}

function clampNumber(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(`${what} must be a number in ${min}..${max}`);
  return v as number;
}

function bad(message: string): never {
  throw new AbuError('ABU_ERR_CONFIG', `config: ${message}`);
}

/**
 * Chunks an install verifies and writes at once unless configured: one per core. Each chunk's threadpool worker
 * hashes (CPU) and then waits for its O_DIRECT write, so one more per core would keep every core hashing during the
 * writes; on this 2-core machine that gain was not measurable above the noise, while its 4 MiB buffer took the CLI
 * over its 64 MiB peak RSS, so `install.inFlightChunks: 3` is left to the operator. At most the threadpool's size
 * less one, so a thread stays free for the bundle's reads, which otherwise queue behind the writers; at least 2.
 */
export function defaultInFlightChunks(cores: number, threadpool: number): number {
  return Math.max(2, Math.min(cores, threadpool - 1));
}

/** libuv's threadpool size: UV_THREADPOOL_SIZE when set (libuv reads it when the pool starts), else its default 4. */
function threadpoolSize(): number {
  const n = Number(process.env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 4;
}
