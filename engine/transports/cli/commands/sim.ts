// `abu sim create DIR` builds the simulated appliance (disk image, config, demo key, 1.0.0 in A, the demo bundles);
// `abu sim remove DIR` deletes one, refused while a daemon or an operation uses it; `abu sim site DIR` runs a simulated
// site (sim-site.ts).
import * as path from 'node:path';
import { AbuError } from '../../../core/errors';
import { createSimAppliance } from '../../../sim/create-sim-appliance';
import { describeSimBundles } from '../../../sim/demo-releases';
import { removeSimAppliance } from '../../../sim/sim-folder';
import type { Command, CliContext } from '../command';
import { parse } from '../cli-support';
import { parseSitePort, runSimSite } from './sim-site';

export const simCommand: Command = {
  name: 'sim',
  summary: 'simulated appliance: "abu sim create DIR" makes one, "abu sim remove DIR" deletes one nobody uses; "abu sim site DIR" runs a simulated site',
  usage: 'abu sim create|remove DIR [--json] | abu sim site DIR [--port FIRST] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, { port: { type: 'string' } });
    const [verb, dir] = positionals;
    if (positionals.length !== 2 || (verb !== 'create' && verb !== 'remove' && verb !== 'site')) throw new AbuError('ABU_ERR_USAGE', `usage: ${simCommand.usage}`);
    const where = path.resolve(ctx.cwd, dir);
    if (verb === 'site') return runSimSite(where, parseSitePort(values.port), values.json === true, ctx);
    if (values.port !== undefined) throw new AbuError('ABU_ERR_USAGE', '--port is for "abu sim site"');
    if (verb === 'remove') {
      // A mistyped path must not read as a successful removal.
      const removed = await removeSimAppliance(where);
      const text = removed ? `removed ${where}` : `nothing to remove: there is no simulated appliance at ${where}`;
      ctx.stdout.write(values.json ? JSON.stringify({ removed: where, existed: removed }) + '\n' : `${text}\n`);
      return 0;
    }
    return create(where, values.json === true, ctx);
  },
};

async function create(dir: string, json: boolean, ctx: CliContext): Promise<number> {
  const sim = await createSimAppliance(dir);
  if (json) {
    ctx.stdout.write(JSON.stringify(sim, null, 2) + '\n');
    return 0;
  }
  ctx.stdout.write(
    [
      `simulated appliance in ${sim.dir}`,
      `  disk image  ${sim.diskImage} (GPT: env, A, B, data)`,
      `  config      ${sim.configPath}`,
      `  keyring     ${sim.keyringPath}`,
      `  slot A      1.0.0 (booted, good)`,
      '  bundles',
      ...describeSimBundles(sim.guide, '    '),
      '',
      `try: abu install --config ${sim.configPath} ${sim.bundles[0]}`,
    ].join('\n') + '\n',
  );
  return 0;
}
