// `abu site status | upload FILE | install BUNDLE`: the System patches workflow (product-docs/001) from the command line.
import * as path from 'node:path';
import { AbuError } from '../../../core/errors';
import type { Command } from '../command';
import { humanBytes, parse } from '../cli-support';
import { SiteApi } from './site-api';

export const siteStatusCommand: Command = {
  name: 'site status',
  summary: 'site members (data center, role, organizations, version) and bundles with their replications n/m',
  usage: 'abu site status [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, {}, false);
    const s = await (await SiteApi.open(values, ctx)).get('/api/site/status');
    if (values.json) {
      ctx.stdout.write(JSON.stringify(s, null, 2) + '\n');
      return 0;
    }
    const lines = ['member        dc      role       organizations   ha     version   state'];
    for (const m of s.members) {
      lines.push([m.name.padEnd(13), m.dataCenter.padEnd(7), m.role.padEnd(10), m.organizations.join(',').padEnd(15), (m.haGroup ?? '-').padEnd(6), (m.version ?? '-').padEnd(9), m.reachable ? m.operation ?? m.lastError ?? 'up' : 'not answering'].join(' '));
    }
    lines.push('', 'bundle    id            size       replications');
    for (const b of s.bundles) lines.push([b.version.padEnd(9), b.sha256.slice(0, 12).padEnd(13), humanBytes(b.size).padEnd(10), b.replication?.replications ?? '-'].join(' '));
    if (s.bundles.length === 0) lines.push('(none: abu site upload FILE)');
    ctx.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};

export const siteUploadCommand: Command = {
  name: 'site upload',
  summary: 'upload a bundle to the coordinator: checked, stored, replicated to every member (--wait until n/m is complete)',
  usage: 'abu site upload FILE [--wait] [--config FILE] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, { wait: { type: 'boolean' } });
    if (positionals.length !== 1) throw new AbuError('ABU_ERR_USAGE', `usage: ${siteUploadCommand.usage}`);
    const api = await SiteApi.open(values, ctx);
    const up = await api.upload('/api/site/bundles', path.resolve(ctx.cwd, positionals[0]));
    let rep = up.replication;
    ctx.stderr.write(`stored ${up.bundle.version} as ${up.bundle.sha256}; replications ${rep.replications}\n`);
    while (values.wait && rep.members.some((m: any) => m.state === 'pending' || m.state === 'transferring')) {
      await new Promise((r) => setTimeout(r, 1000));
      rep = (await api.get(`/api/site/bundles/${up.bundle.sha256}`)).replication;
      ctx.stderr.write(`replications ${rep.replications}\n`);
    }
    ctx.stdout.write(values.json ? JSON.stringify({ bundle: up.bundle, replication: rep }, null, 2) + '\n' : `${up.bundle.sha256} ${rep.replications}\n`);
    return rep.members.some((m: any) => m.state === 'failed') ? 1 : 0;
  },
};

export const siteInstallCommand: Command = {
  name: 'site install',
  summary: 'install a stored bundle in organizations (default all) and one data center (default all) where replicated',
  usage: 'abu site install BUNDLE [--org O]... [--dc D] [--no-activate] [--config FILE] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, { org: { type: 'string', multiple: true }, dc: { type: 'string' }, 'no-activate': { type: 'boolean' } });
    if (positionals.length !== 1) throw new AbuError('ABU_ERR_USAGE', `usage: ${siteInstallCommand.usage}`);
    const api = await SiteApi.open(values, ctx);
    const orgs = (values.org as unknown as string[] | undefined) ?? (await api.get('/api/site')).organizations;
    const r = await api.post('/api/site/install', { bundle: positionals[0], organizations: orgs, dataCenter: values.dc ?? 'all', activate: values['no-activate'] !== true });
    if (values.json) ctx.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      const lines = [`${r.version} on ${r.targets.length} member(s) of ${orgs.join(', ')} in data center ${values.dc ?? 'all'}`];
      for (const i of r.installed) lines.push(`  installed  ${i.member} (slot ${i.slot}${i.activated ? ', activated' : ''})`);
      for (const c of r.current) lines.push(`  current    ${c} already runs ${r.version}`);
      for (const s of r.skipped) lines.push(`  skipped    ${s.member}: ${s.reason}`);
      for (const f of r.refused) lines.push(`  refused    ${f.member}: ${f.code}: ${f.message}`);
      for (const w of r.warnings) lines.push(`warning: ${w}`);
      ctx.stdout.write(lines.join('\n') + '\n');
    }
    return r.refused.length > 0 ? 1 : 0;
  },
};
