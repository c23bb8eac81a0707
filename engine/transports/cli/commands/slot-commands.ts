// `abu activate`, `abu mark-good`, `abu mark-bad`, `abu boot-check`, `abu reboot`, `abu history`: slot lifecycle.
import type { Command } from '../command';
import { parse, withEngine } from '../cli-support';

export const activateCommand: Command = {
  name: 'activate',
  summary: 'boot the alternate image ("other") or a named slot next; refused below the floor',
  usage: 'abu activate other|SLOT [--config FILE]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, {});
    const target = positionals[0] ?? 'other';
    await withEngine(values, ctx, (e) => e.activate(target));
    ctx.stdout.write(`activated ${target}: it boots next (reboot to switch)\n`);
    return 0;
  },
};

export const markGoodCommand: Command = {
  name: 'mark-good',
  summary: 'confirm a slot (default: the booted one)',
  usage: 'abu mark-good [SLOT] [--config FILE]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, {});
    await withEngine(values, ctx, (e) => e.markGood(positionals[0]));
    ctx.stdout.write(`marked ${positionals[0] ?? 'booted slot'} good\n`);
    return 0;
  },
};

export const markBadCommand: Command = {
  name: 'mark-bad',
  summary: 'make a slot unbootable (default: the booted one)',
  usage: 'abu mark-bad [SLOT] [--config FILE]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, {});
    await withEngine(values, ctx, (e) => e.markBad(positionals[0]));
    ctx.stdout.write(`marked ${positionals[0] ?? 'booted slot'} bad\n`);
    return 0;
  },
};

export const bootCheckCommand: Command = {
  name: 'boot-check',
  summary: 'run at boot: health checks, then confirm the slot or mark it bad and reboot; reports rollbacks',
  usage: 'abu boot-check [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, {}, false);
    const result = await withEngine(values, ctx, (e) => e.bootCheck());
    ctx.stdout.write(values.json ? JSON.stringify(result) + '\n' : `boot-check: ${result.outcome}: ${result.message}\n`);
    return result.outcome === 'marked-bad' ? 1 : 0;
  },
};

export const rebootCommand: Command = {
  name: 'reboot',
  summary: 'restart the appliance (the configured command, or the simulated reboot)',
  usage: 'abu reboot [--config FILE]',
  async run(args, ctx) {
    const { values } = parse(args, {}, false);
    await withEngine(values, ctx, (e) => e.reboot());
    ctx.stdout.write('restarting\n');
    return 0;
  },
};

export const historyCommand: Command = {
  name: 'history',
  summary: 'installs, activations, confirmations and rollbacks, newest first',
  usage: 'abu history [--limit N] [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, { limit: { type: 'string' } }, false);
    const entries = await withEngine(values, ctx, (e) => e.history(Number(values.limit ?? 50)));
    if (values.json) ctx.stdout.write(JSON.stringify(entries, null, 2) + '\n');
    else for (const h of entries) ctx.stdout.write(`${h.time}  ${h.kind.padEnd(14)} ${h.slot.padEnd(3)} ${h.message}${h.code ? ` [${h.code}]` : ''}\n`);
    return 0;
  },
};
