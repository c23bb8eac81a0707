// `abu install FILE|-`: verify and stream a bundle into the alternate slot, then set it to be tried once.
import { AbuError } from '../../../core/errors';
import { FileSource } from '../../../sources/file-source';
import { StreamSource } from '../../../sources/stream-source';
import type { ImageSource } from '../../../sources/image-source';
import type { Command, CliContext } from '../command';
import { humanBytes, parse, withEngine } from '../cli-support';
import { progressBar } from '../progress-bar';

export const installCommand: Command = {
  name: 'install',
  summary: 'install a bundle from a file or stdin (-) into the alternate slot and activate it',
  usage: 'abu install FILE|- [--no-activate] [--config FILE] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, { 'no-activate': { type: 'boolean' } });
    if (positionals.length !== 1) throw usage();
    const source = sourceFor(positionals[0], ctx);
    const result = await withEngine(values, ctx, (engine) => {
      if (!values.json) engine.subscribe(progressBar(ctx.stderr));
      return engine.install(source, { activate: !values['no-activate'] });
    });
    if (values.json) ctx.stdout.write(JSON.stringify(result) + '\n');
    else {
      const rate = result.seconds > 0 ? `${humanBytes(result.bytesWritten / result.seconds)}/s` : '';
      ctx.stdout.write(`installed ${result.version} into slot ${result.slot}: ${humanBytes(result.bytesWritten)} in ${result.seconds.toFixed(1)} s ${rate}${result.activated ? '; activated for the next boot' : ''}\n`);
    }
    return 0;
  },
};

function sourceFor(arg: string, ctx: CliContext): ImageSource {
  return arg === '-' ? new StreamSource(ctx.stdin, 'standard input') : new FileSource(arg);
}

function usage(): AbuError {
  return new AbuError('ABU_ERR_USAGE', 'usage: ' + installCommand.usage);
}
