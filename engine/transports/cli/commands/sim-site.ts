// `abu sim site DIR`: a simulated site on this machine (two data centers of two appliances and a three-node cluster
// with one HA pair, engine/sim/sim-site.ts), every appliance behind its own `abu serve` on a loopback port; prints
// the URLs and tokens, and Ctrl-C stops them all.
import * as path from 'node:path';
import { AbuError } from '../../../core/errors';
import { createSimSite, removeSimSite, type SimSite } from '../../../sim/sim-site';
import { startSimSiteDaemons } from '../../../sim/sim-site-daemons';
import type { CliContext } from '../command';

/** Members get consecutive ports from here (--port; 0 picks free ones). */
export const DEFAULT_SITE_PORT = 8100;

export async function runSimSite(dir: string, port: number, json: boolean, ctx: CliContext): Promise<number> {
  // A fresh site every time, never over one whose daemons still run (removeSimSite refuses, naming the process).
  await removeSimSite(dir);
  ctx.stderr.write(`creating the simulated site in ${dir}\n`);
  const site = await createSimSite(dir, { basePort: port, extra: { rollout: { pollMs: 300 } } });
  const daemons = await startSimSiteDaemons(site);
  announce(site, json, ctx);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  ctx.stderr.write('abu sim site: stopping every appliance\n');
  await daemons.stop();
  return 0;
}

export function parseSitePort(raw: unknown): number {
  if (raw === undefined) return DEFAULT_SITE_PORT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535 - 16) throw new AbuError('ABU_ERR_USAGE', `--port must be 0-65519, not ${String(raw)}`);
  return n;
}

function announce(site: SimSite, json: boolean, ctx: CliContext): void {
  const c = site.members.find((m) => m.name === site.coordinator)!;
  const pages = { site: `${c.url}/site.html#token=${encodeURIComponent(c.operatorToken)}`, cluster: `${c.url}/cluster.html#token=${encodeURIComponent(c.operatorToken)}` };
  const members = site.members.map((m) => ({ name: m.name, dataCenter: m.dataCenter, role: m.role, organizations: m.organizations, haGroup: m.haGroup ?? null, url: m.url, token: m.operatorToken }));
  if (json) {
    ctx.stdout.write(JSON.stringify({ dir: site.dir, coordinator: site.coordinator, members, pages, bundles: site.bundles }) + '\n');
    return;
  }
  const pad = (s: string, n: number) => s.padEnd(n);
  const lines = [
    `simulated site in ${site.dir}: ${site.members.length} simulated appliances, each with its own abu serve (logs in ${path.join(site.dir, 'logs')})`,
    `  ${pad('appliance', 16)}${pad('data center', 13)}${pad('role', 11)}${pad('organizations', 15)}${pad('HA group', 10)}${pad('URL', 24)}operator token`,
    ...members.map((m) => `  ${pad(m.name + (m.name === site.coordinator ? ' *' : ''), 16)}${pad(m.dataCenter, 13)}${pad(m.role, 11)}${pad(m.organizations.join(','), 15)}${pad(m.haGroup ?? '-', 10)}${pad(m.url, 24)}${m.token}`),
    `  * coordinator: its pages (the token is in the link)`,
    `    System patches  ${pages.site}`,
    `    Cluster         ${pages.cluster}`,
    '  bundles signed for the site (upload on System patches, or: abu site upload FILE --wait --config ' + c.sim.configPath + ')',
    ...site.bundles.map((b) => `    ${b}`),
    'Ctrl-C stops every appliance.',
  ];
  ctx.stdout.write(lines.join('\n') + '\n');
}
