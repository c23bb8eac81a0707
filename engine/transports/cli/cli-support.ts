// Shared CLI plumbing: the --config option, opening the engine, printing errors with their codes.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AbuError, isAbuError } from '../../core/errors';
import { createEngine } from '../../engine';
import type { Engine } from '../../facade';
import { findDaemon } from './daemon-client';
import { RemoteEngine } from './remote-engine';
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
  try {
    return parseArgs({ args, options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, direct: { type: 'boolean' }, ...options }, allowPositionals, strict: true }) as ParsedArgs;
  } catch (e) {
    throw new AbuError('ABU_ERR_USAGE', (e as Error).message);
  }
}

/**
 * Runs `fn` on the engine: through the running daemon when there is one (so its one-operation lock holds),
 * or directly with --direct or when no daemon runs.
 */
export async function withEngine<T>(values: { config?: string | boolean; direct?: string | boolean }, ctx: CliContext, fn: (engine: Engine) => Promise<T>): Promise<T> {
  const file = configPath(values, ctx);
  const daemon = values.direct ? null : await findDaemon(file, ctx.env);
  const engine: Engine = daemon ? new RemoteEngine(daemon) : await createEngine(file);
  try {
    return await fn(engine);
  } finally {
    await engine.close();
  }
}

/** Print an error the way every command does and return its exit code (2 usage, 1 otherwise). */
export function reportError(e: unknown, ctx: CliContext, json = false): number {
  const err = isAbuError(e) ? e : new AbuError('ABU_ERR_INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
  if (json) ctx.stdout.write(JSON.stringify({ error: err.toJSON() }) + '\n');
  else ctx.stderr.write(`abu: ${err.code}: ${err.message}\n`);
  if (err.code === 'ABU_ERR_INTERNAL' && e instanceof Error && e.stack) ctx.stderr.write(e.stack + '\n');
  return err.code === 'ABU_ERR_USAGE' ? 2 : 1;
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
