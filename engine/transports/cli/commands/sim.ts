// `abu sim create DIR`: build the simulated appliance (disk image, config, demo key, 1.0.0 in A, 1.1.0 and 1.2.0 bundles).
import * as path from 'node:path';
import { AbuError } from '../../../core/errors';
import { createSimAppliance } from '../../../sim/create-sim-appliance';
import type { Command } from '../command';
import { parse } from '../cli-support';

export const simCommand: Command = {
  name: 'sim',
  summary: 'create a simulated appliance in a folder: "abu sim create DIR"',
  usage: 'abu sim create DIR [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, {});
    if (positionals[0] !== 'create' || positionals.length !== 2) throw new AbuError('ABU_ERR_USAGE', `usage: ${simCommand.usage}`);
    const sim = await createSimAppliance(path.resolve(ctx.cwd, positionals[1]));
    if (values.json) {
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
        ...sim.bundles.map((b) => `  bundle      ${b}`),
        `  broken      ${sim.brokenBundle} (fails its health check after boot)`,
        '',
        `try: abu install --config ${sim.configPath} ${sim.bundles[0]}`,
      ].join('\n') + '\n',
    );
    return 0;
  },
};
