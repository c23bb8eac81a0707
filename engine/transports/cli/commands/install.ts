// `abu install FILE|URL|-`: verify and stream a bundle into the alternate slot, then set it to be tried once.
import * as path from 'node:path';
import { AbuEngine } from '../../../engine';
import { AbuError } from '../../../core/errors';
import type { Engine, InstallOptions, InstallResult } from '../../../facade';
import { FileSource } from '../../../sources/file-source';
import { StreamSource } from '../../../sources/stream-source';
import type { Command, CliContext } from '../command';
import { checkReadableFile, humanBytes, parse, withEngine } from '../cli-support';
import { progressBar } from '../progress-bar';
import { RemoteEngine } from '../remote-engine';

export const installCommand: Command = {
  name: 'install',
  summary: 'install a bundle from a file, an http(s) URL or stdin (-) into the alternate slot and activate it',
  usage: 'abu install FILE|URL|- [--no-activate] [--accept-irreversible] [--reboot] [--no-adaptive] [--config FILE] [--direct] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, {
      'no-activate': { type: 'boolean' }, 'accept-irreversible': { type: 'boolean' }, reboot: { type: 'boolean' }, 'no-adaptive': { type: 'boolean' },
    });
    if (positionals.length !== 1) throw usage('give one bundle: a file, an http(s) URL, or - for standard input');
    if (values['no-activate'] && values.reboot) throw usage('--reboot restarts into the new image, so it cannot go with --no-activate');
    const options: InstallOptions = {
      activate: !values['no-activate'],
      acceptIrreversible: values['accept-irreversible'] === true,
      reboot: values.reboot === true,
      // Absent: the config's install.adaptive decides (default on).
      ...(values['no-adaptive'] ? { adaptive: false } : {}),
    };
    const from = positionals[0];
    // Check a named file first: a typo is ABU_ERR_FILE, not a failed install in the appliance's history.
    if (from !== '-' && !isUrl(from)) await checkReadableFile(path.resolve(ctx.cwd, from));
    const result = await withEngine(values, ctx, (engine) => {
      if (!values.json) engine.subscribe(progressBar(ctx.stderr));
      return installFrom(engine, from, options, ctx);
    });
    if (values.json) ctx.stdout.write(JSON.stringify(result) + '\n');
    else ctx.stdout.write(summary(result, options.reboot === true));
    return 0;
  },
};

function installFrom(engine: Engine, from: string, options: InstallOptions, ctx: CliContext): Promise<InstallResult> {
  if (from === '-') return engine.install(new StreamSource(ctx.stdin, 'standard input'), options);
  if (!isUrl(from)) return engine.install(new FileSource(path.resolve(ctx.cwd, from)), options);
  return installUrl(engine, from, options);
}

/** Through the daemon, the daemon downloads; directly, this process does, bounded by what the alternate slot takes. */
async function installUrl(engine: Engine, url: string, options: InstallOptions): Promise<InstallResult> {
  if (engine instanceof RemoteEngine) return engine.installUrl(url, options);
  if (!(engine instanceof AbuEngine)) throw new AbuError('ABU_ERR_INTERNAL', 'installing from a URL needs the daemon or the appliance itself');
  // The daemon module (fastify) and the HTTP client (node:http, node:https) load only here, not for every file install.
  const [{ alternateCapacity }, { HttpUrlSource }] = await Promise.all([import('../../http/daemon'), import('../../../sources/http-url-source')]);
  return engine.install(new HttpUrlSource(url, { maxBytes: await alternateCapacity(engine) }), options);
}

/** http:// and https:// are downloaded; any other scheme-like argument is refused rather than read as a file name. */
function isUrl(arg: string): boolean {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(arg)?.[1]?.toLowerCase();
  if (scheme === undefined) return false;
  if (scheme === 'http' || scheme === 'https') return true;
  throw usage(`only http:// and https:// URLs can be installed from, not ${scheme}://`);
}

function summary(result: InstallResult, reboot: boolean): string {
  const rate = result.seconds > 0 ? ` ${humanBytes(result.bytesWritten / result.seconds)}/s` : '';
  const next = result.activated ? (reboot ? '; activated, restarting into it' : '; activated for the next boot') : '';
  const t = result.transfer;
  const how = t ? ` (${humanBytes(t.fetched)} fetched, ${humanBytes(t.copied)} copied, ${humanBytes(t.skipped)} already in place)` : '';
  return `installed ${result.version} into slot ${result.slot}: ${humanBytes(result.bytesWritten)}${how} in ${result.seconds.toFixed(1)} s${rate}${next}\n`;
}

function usage(problem: string): AbuError {
  return new AbuError('ABU_ERR_USAGE', `${problem}\nusage: ${installCommand.usage}`);
}
