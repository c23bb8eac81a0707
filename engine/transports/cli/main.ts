// The abu command line: dispatches to one Command per verb; `abu help` lists them.
import type { Command, CliContext } from './command';
import { reportError } from './cli-support';
import { commandTable } from './commands';

export async function main(argv: string[], ctx: CliContext = processContext()): Promise<number> {
  const table = commandTable();
  const [verb, ...rest] = argv;
  if (!verb || verb === 'help' || verb === '--help' || verb === '-h') {
    ctx.stdout.write(helpText(table));
    return verb ? 0 : 2;
  }
  // Two-word verbs ("bundle create") are looked up first.
  const twoWord = rest.length > 0 ? table.get(`${verb} ${rest[0]}`) : undefined;
  const command = twoWord ?? table.get(verb);
  if (!command) {
    ctx.stderr.write(`abu: unknown command "${verb}"; run "abu help"\n`);
    return 2;
  }
  const args = twoWord ? rest.slice(1) : rest;
  if (args.includes('--help') || args.includes('-h')) {
    ctx.stdout.write(`${command.usage}\n  ${command.summary}\n`);
    return 0;
  }
  try {
    return await command.run(args, ctx);
  } catch (e) {
    return reportError(e, ctx, args.includes('--json'));
  }
}

function helpText(table: Map<string, Command>): string {
  const lines = ['abu: A/B update engine', '', 'commands:'];
  for (const c of table.values()) lines.push(`  ${c.name.padEnd(16)} ${c.summary}`);
  lines.push('', 'Every command takes --config FILE (or $ABU_CONFIG; default /etc/abu/config.json). "abu COMMAND --help" shows its usage.');
  return lines.join('\n') + '\n';
}

function processContext(): CliContext {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env };
}
