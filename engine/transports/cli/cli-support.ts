// Shared CLI plumbing: the --config option, opening the engine, printing errors with their codes.
import { open, type FileHandle } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AbuError, isAbuError } from '../../core/errors';
import { createEngine } from '../../engine';
import type { Engine } from '../../facade';
import { RemoteEngine } from './remote-engine';
import { parseArgsUsageError } from './usage-errors';
import type { CliContext } from './command';

export const DEFAULT_CONFIG = '/etc/abu/config.json';

export function configPath(values: { config?: string | boolean }, ctx: CliContext): string {
  return typeof values.config === 'string' ? values.config : ctx.env.ABU_CONFIG ?? DEFAULT_CONFIG;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** parseArgs with the options every command shares (--config, --json); usage errors become ABU_ERR_USAGE. */
export function parse(args: string[], options: ParseArgsConfig['options'], allowPositionals = true): ParsedArgs {
  const all: NonNullable<ParseArgsConfig['options']> = { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, direct: { type: 'boolean' }, ...options };
  try {
    return parseArgs({ args, options: all, allowPositionals, strict: true }) as ParsedArgs;
  } catch (e) {
    throw parseArgsUsageError(e, Object.keys(all));
  }
}

/**
 * Runs `fn` on the engine: through the running daemon when there is one (so its one-operation lock holds),
 * or directly with --direct or when no daemon runs.
 */
export async function withEngine<T>(values: { config?: string | boolean; direct?: string | boolean }, ctx: CliContext, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const file = configPath(values, ctx);
  // The daemon client (node:http, node:https) loads only when there may be a daemon to ask: not with --direct.
  const daemon = values.direct ? null : await (await import('./daemon-client')).findDaemon(file, ctx.env);
  const engine: Engine = daemon ? new RemoteEngine(daemon) : await createEngine(file);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

/** Print an error the way every command does and return its exit code (2 usage, 1 otherwise). */
export function reportError(e: unknown, ctx: CliContext, json = false): number {
  const err = asAbuError(e);
  if (json) ctx.stdout.write(JSON.stringify({ error: err.toJSON() }) + '\n');
  ctx.stderr.write(`abu: ${err.code}: ${err.message}\n`);
  // A stack trace is for a bug; every mistake a user can make has its own code and a message saying what to do.
  if (err.code === 'ABU_ERR_INTERNAL' && e instanceof Error && e.stack) ctx.stderr.write(e.stack + '\n');
  return err.code === 'ABU_ERR_USAGE' ? 2 : 1;
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a component of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
};

/** An AbuError as is; a file-system error on a named path (ENOENT, EACCES, ...) as ABU_ERR_FILE; anything else is a bug. */
export function asAbuError(e: unknown): AbuError {
  if (isAbuError(e)) return e;
  const fe = e as NodeJS.ErrnoException;
  if (fe && typeof fe.code === 'string' && typeof fe.path === 'string' && FILE_ERRORS[fe.code]) return fileError(fe.path, e);
  return new AbuError('ABU_ERR_INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}

function fileError(file: string, e: unknown): AbuError {
  const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
  return new AbuError('ABU_ERR_FILE', `${file}: ${FILE_ERRORS[code] ?? (e as Error).message} (${code})`, { cause: e, details: { path: file, errno: code } });
}

/**
 * Checks that a file the user named can be read (exists, is not a directory, is readable) before an operation
 * starts, so a typo is ABU_ERR_FILE naming the path, not a failed install in the appliance's history.
 */
export async function checkReadableFile(file: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    if ((await handle.stat()).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR', path: file });
  } catch (e) {
    throw fileError(file, e);
  } finally {
    await handle?.close();
  }
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
