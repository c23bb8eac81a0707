// `abu serve`: the update service (HTTP API + web page); with --sim DIR it first creates the simulated appliance there.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { AbuError } from '../../../core/errors';
import { loadConfig } from '../../../config';
import { createSimAppliance } from '../../../sim/create-sim-appliance';
import { describeSimBundles, simBundles, type SimBundle } from '../../../sim/demo-releases';
import { simFolderUser } from '../../../sim/sim-folder';
import { startDaemon, type Daemon } from '../../http/daemon';
import type { Command, CliContext } from '../command';
import { configPath, parse } from '../cli-support';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the update service: HTTP API, live progress and the web page (--sim DIR for the simulated appliance)',
  usage: 'abu serve [--config FILE | --sim DIR] [--host ADDR] [--port N] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, { sim: { type: 'string' }, host: { type: 'string' }, port: { type: 'string' } }, false);
    const { config, bundles } = await chooseConfig(values, ctx);
    const daemon = await startDaemon({ configPath: config, host: values.host as string | undefined, port: parsePort(values.port) }).catch((e) => {
      throw listenError(e, values.port !== undefined, typeof values.sim === 'string');
    });
    announce(daemon, bundles, values.json === true, ctx);
    await untilStopped();
    ctx.stderr.write('abu serve: stopping\n');
    await daemon.close();
    return 0;
  },
};

/** --sim DIR reuses an appliance already created there, so restarting the demo keeps its state. */
async function chooseConfig(values: Record<string, unknown>, ctx: CliContext): Promise<{ config: string; bundles: SimBundle[] }> {
  if (typeof values.sim !== 'string') return { config: configPath(values as { config?: string }, ctx), bundles: [] };
  if (values.config !== undefined) throw new AbuError('ABU_ERR_USAGE', 'give either --config or --sim, not both');
  const dir = path.resolve(ctx.cwd, values.sim);
  const config = path.join(dir, 'config.json');
  if (existsSync(config)) {
    // A second service on the same appliance would take over the first one's runtime file and token.
    const user = await simFolderUser(dir);
    if (user?.kind === 'daemon') throw new AbuError('ABU_ERR_BUSY', `${user.what} (pid ${user.pid}) already serves ${dir}`, { details: { pid: user.pid, running: user.what } });
    return { config, bundles: simBundles(dir, (await loadConfig(config)).product) };
  }
  ctx.stderr.write(`creating the simulated appliance in ${dir}\n`);
  const sim = await createSimAppliance(dir);
  return { config: sim.configPath, bundles: sim.guide };
}

function announce(d: Daemon, bundles: SimBundle[], json: boolean, ctx: CliContext): void {
  const page = `${d.url}/#token=${encodeURIComponent(d.token)}`;
  if (json) {
    ctx.stdout.write(JSON.stringify({ url: d.url, page, token: d.token, tokenFile: d.tokenFile, bundles }) + '\n');
    return;
  }
  const lines = [
    `abu update service listening on ${d.url}`,
    `  web page   ${page}`,
    `  token      ${d.token}   (stored in ${d.tokenFile})`,
    `  API        ${d.url}/api/openapi.json`,
    ...(bundles.length ? ['  bundles (signed with the demo key; add them on the web page or with abu install):', ...describeSimBundles(bundles, '    ')] : []),
    'Ctrl-C stops the service.',
  ];
  ctx.stdout.write(lines.join('\n') + '\n');
}

function parsePort(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new AbuError('ABU_ERR_USAGE', `--port must be 0-65535, not ${String(raw)}`);
  return n;
}

/** EADDRINUSE and friends are the operator's to fix (another service, a privileged port): say how, without a stack. */
function listenError(e: unknown, portGiven: boolean, sim: boolean): unknown {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
  const where = `${err.address ?? 'the configured address'}:${err.port ?? '?'}`;
  // scripts/demo runs "abu serve --sim": its user gives the port as $ABU_PORT, never sees --port.
  const demo = sim ? '; for scripts/demo: ABU_PORT=N scripts/demo' : '';
  const hint = portGiven ? `choose another --port N (0 picks a free one${demo})` : 'choose another with --port N (0 picks a free one) or http.port in the config';
  const reasons: Record<string, string> = {
    EADDRINUSE: `${where} is already in use (another abu serve, or another service); stop it or ${hint}`,
    EACCES: `not permitted to listen on ${where} (ports below 1024 need root); ${hint}`,
    EADDRNOTAVAIL: `${err.address ?? 'the address'} is not an address of this machine; use --host ADDR or http.host in the config`,
  };
  const reason = typeof err?.code === 'string' && err.syscall === 'listen' ? reasons[err.code] : undefined;
  if (!reason) return e;
  return new AbuError('ABU_ERR_LISTEN', `cannot start the update service: ${reason}`, { cause: e, details: { address: err.address, port: err.port, errno: err.code } });
}

function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
