// `abu cluster activate | switch-back | status`: the cluster's Activate alternate image (product-docs/002) from the command line.
import type { Command, CliContext } from '../command';
import { parse } from '../cli-support';
import { SiteApi } from './site-api';

export const clusterActivateCommand: Command = {
  name: 'cluster activate',
  summary: 'activate a bundle on every member: the coordinator first, then the others (HA mode unless --no-ha)',
  usage: 'abu cluster activate [--bundle ID|VERSION] [--no-ha] [--accept-irreversible] [--no-wait] [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, { bundle: { type: 'string' }, 'no-ha': { type: 'boolean' }, 'accept-irreversible': { type: 'boolean' }, 'no-wait': { type: 'boolean' } }, false);
    const api = await SiteApi.open(values, ctx);
    const body = { bundle: values.bundle, acceptIrreversible: values['accept-irreversible'] === true, ...(values['no-ha'] ? { ha: false } : {}) };
    const { rollout } = await api.post('/api/cluster/activate', body);
    return follow(api, rollout, values, ctx);
  },
};

export const clusterSwitchBackCommand: Command = {
  name: 'cluster switch-back',
  summary: 'boot every member\'s alternate image, coordinator first; refused for all when any member cannot',
  usage: 'abu cluster switch-back [--no-ha] [--no-wait] [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, { 'no-ha': { type: 'boolean' }, 'no-wait': { type: 'boolean' } }, false);
    const api = await SiteApi.open(values, ctx);
    const { rollout } = await api.post('/api/cluster/switch-back', values['no-ha'] ? { ha: false } : {});
    return follow(api, rollout, values, ctx);
  },
};

export const clusterStatusCommand: Command = {
  name: 'cluster status',
  summary: 'the last cluster rollout: each member\'s phase, and the HA reboot slots held',
  usage: 'abu cluster status [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, {}, false);
    const s = await (await SiteApi.open(values, ctx)).get('/api/cluster/rollout');
    ctx.stdout.write(values.json ? JSON.stringify(s, null, 2) + '\n' : s.rollout ? describe(s.rollout) : 'no rollout yet\n');
    return 0;
  },
};

/** Prints each member's phase as it changes until the rollout ends (the coordinator may be down for a while). */
async function follow(api: SiteApi, rollout: any, values: Record<string, unknown>, ctx: CliContext): Promise<number> {
  const seen = new Map<string, string>();
  for (;;) {
    for (const name of rollout.order) {
      const m = rollout.members[name];
      const line = `${name}: ${m.phase}${m.percent !== null ? ` ${m.percent} %` : ''} (${m.detail})`;
      if (seen.get(name) !== line && !values.json) ctx.stderr.write(line + '\n');
      seen.set(name, line);
    }
    if (values['no-wait'] || !['running', 'stopping'].includes(rollout.state)) break;
    await new Promise((r) => setTimeout(r, 1000));
    rollout = (await api.poll('/api/cluster/rollout')).rollout;
  }
  ctx.stdout.write(values.json ? JSON.stringify(rollout, null, 2) + '\n' : `rollout ${rollout.state}${rollout.error ? `: ${rollout.error}` : ''}\n`);
  return rollout.state === 'failed' ? 1 : 0;
}

function describe(r: any): string {
  const lines = [`${r.kind}${r.version ? ` ${r.version}` : ''}: ${r.state}${r.error ? ` (${r.error})` : ''}${r.ha ? ', HA mode' : ''}`];
  for (const name of r.order) lines.push(`  ${name.padEnd(12)} ${r.members[name].phase.padEnd(11)} ${r.members[name].detail}`);
  return lines.join('\n') + '\n';
}
