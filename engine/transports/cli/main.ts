// The abu command line: dispatches to one Command per verb; `abu help` lists them.
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { AbuError } from '../../core/errors';
import type { CliContext } from './command';
import { reportError } from './cli-support';
import { commandTable, type CommandLoader } from './commands';
import { suggest } from './usage-errors';

/** Options every command takes, which may also come before the verb: `abu --config F install x.abu`, as with git. */
const GLOBAL_FLAGS = new Set(['--json', '--direct']);
const GLOBAL_VALUES = new Set(['--config', '-c']);

export async function main(argv: string[], ctx: CliContext = processContext()): Promise<number> {
  const table = commandTable();
  const { globals, rest: afterGlobals, problem } = leadingGlobals(argv);
  const json = argv.includes('--json');
  if (problem) return reportError(problem, ctx, json);
  const [verb, ...rest] = afterGlobals;
  // "abu help install" is "abu install --help", as with git.
  if (verb === 'help' && rest.length > 0) return main([...rest, '--help'], ctx);
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    ctx.stdout.write(await helpText(table));
    return verb ? 0 : 2;
  }
  if (verb === '--version' || verb === 'version') {
    ctx.stdout.write(`abu ${await packageVersion()}\n`);
    return 0;
  }
  // Two-word verbs ("bundle create") are looked up first.
  const twoWord = rest.length > 0 ? table.get(`${verb} ${rest[0]}`) : undefined;
  const load = twoWord ?? table.get(verb);
  if (!load) return unknownCommand(table, verb, rest[0], ctx, json);
  const command = await load();
  const args = withGlobals(twoWord ? rest.slice(1) : rest, globals);
  if (args.includes('--help') || args.includes('-h')) {
    ctx.stdout.write(`${command.usage}\n  ${command.summary}\n`);
    return 0;
  }
  try {
    return await command.run(args, ctx);
  } catch (e) {
    const code = reportError(e, ctx, json);
    // A usage mistake is answered with the command's usage, unless the message already holds it.
    if (code === 2 && !/usage:/.test((e as Error).message ?? '')) ctx.stderr.write(`usage: ${command.usage}\n`);
    return code;
  }
}

/**
 * A verb abu does not know. The first word of a two-word command alone ("abu bundle", "abu site --help") lists its
 * subcommands; anything else is a usage error, with the nearest command when there is one ("instal" -> "install").
 */
async function unknownCommand(table: Map<string, CommandLoader>, verb: string, sub: string | undefined, ctx: CliContext, json: boolean): Promise<number> {
  const subs = [...table.keys()].filter((k) => k.startsWith(`${verb} `)).map((k) => k.slice(verb.length + 1));
  if (subs.length > 0) {
    if (sub === '--help' || sub === '-h' || sub === undefined) {
      const lines = [`usage: abu ${verb} ${subs.join('|')} [ARGS]`, ''];
      for (const name of subs) lines.push(`  ${name.padEnd(12)} ${(await (table.get(`${verb} ${name}`) as CommandLoader)()).summary}`);
      lines.push('', `"abu ${verb} ${subs[0]} --help" shows its usage.`);
      ctx.stdout.write(lines.join('\n') + '\n');
      if (sub !== undefined) return 0;
    }
    const near = sub === undefined ? undefined : suggest(sub, subs);
    const what = sub === undefined ? `"abu ${verb}" needs a subcommand` : `unknown command "${verb} ${sub}"${near ? ` (did you mean "${verb} ${near}"?)` : ''}`;
    return reportError(usageError(`${what}: ${subs.map((x) => `${verb} ${x}`).join(', ')}`), ctx, json);
  }
  const near = suggest(verb, new Set([...table.keys()].map((k) => k.split(' ')[0])));
  return reportError(usageError(`unknown command "${verb}"${near ? ` (did you mean "${near}"?)` : ''}; run "abu help"`), ctx, json);
}

/** This abu's version, from the package.json beside dist/ (read only when asked). */
async function packageVersion(): Promise<string> {
  const file = path.resolve(__dirname, '../../../../package.json');
  const pkg = await readFile(file, 'utf8').then((t) => JSON.parse(t) as { version?: string }, () => null);
  return pkg?.version ?? `(version unknown: ${file} is missing)`;
}

/** Splits `--config F --json status ...` into the global options and the command line that follows them. */
function leadingGlobals(argv: string[]): { globals: string[]; rest: string[]; problem?: AbuError } {
  const globals: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (GLOBAL_FLAGS.has(a) || /^--config=/.test(a)) globals.push(a);
    else if (GLOBAL_VALUES.has(a)) {
      if (i + 1 >= argv.length) return { globals, rest: [], problem: usageError(`${a} needs a file: ${a} FILE`) };
      globals.push(a, argv[++i]);
    } else if (a.startsWith('-') && a !== '-h' && a !== '--help' && a !== '--version') {
      return { globals, rest: [], problem: usageError(`unknown option ${a} before the command; options that may come first: --config FILE, --json, --direct`) };
    } else break;
  }
  return { globals, rest: argv.slice(i) };
}

/** The command's own parser sees the global options as if written after the verb (before any "--"). */
function withGlobals(args: string[], globals: string[]): string[] {
  if (globals.length === 0) return args;
  const end = args.indexOf('--');
  return end < 0 ? [...args, ...globals] : [...args.slice(0, end), ...globals, ...args.slice(end)];
}

function usageError(message: string): AbuError {
  return new AbuError('ABU_ERR_USAGE', message);
}

/** Help is the one place every command module is loaded (for its summary). */
async function helpText(table: Map<string, CommandLoader>): Promise<string> {
  const lines = ['abu: A/B update engine', '', 'usage: abu [--config FILE] [--json] [--direct] COMMAND [ARGS]', '', 'commands:'];
  for (const load of table.values()) {
    const c = await load();
    lines.push(`  ${c.name.padEnd(16)} ${c.summary}`);
  }
  lines.push('', 'Every command takes --config FILE (or $ABU_CONFIG; default /etc/abu/config.json) and --json, before or after the command.');
  lines.push('"abu COMMAND --help" shows its usage.');
  return lines.join('\n') + '\n';
}

function processContext(): CliContext {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}
