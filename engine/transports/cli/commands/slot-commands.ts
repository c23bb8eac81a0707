// `abu activate`, `abu mark-good`, `abu mark-bad`, `abu boot-check`, `abu reboot`, `abu history`: slot lifecycle.
import { AbuError } from '../../../core/errors';
import type { Engine } from '../../../facade';
import type { Command } from '../command';
import { parse, withEngine } from '../cli-support';

/** A command that takes an optional slot argument, calls the engine once and prints one line (or JSON). */
function slotCommand(name: string, summary: string, act: (e: Engine, slot?: string) => Promise<void>, done: (slot: string | undefined) => Record<string, unknown> & { message: string }): Command {
  return {
    name,
    summary,
    usage: `abu ${name} [SLOT] [--config FILE] [--json]`,
    async run(args, ctx) {
      const { values, positionals } = parse(args, {});
      if (positionals.length > 1) throw new AbuError('ABU_ERR_USAGE', `usage: abu ${name} [SLOT] [--config FILE] [--json]`);
      await withEngine(values, ctx, (e) => act(e, positionals[0]));
      const result = done(positionals[0]);
      ctx.stdout.write(values.json ? JSON.stringify(result) + '\n' : `${result.message}\n`);
      return 0;
    },
  };
}

export const activateCommand: Command = {
  name: 'activate',
  summary: 'boot the alternate image ("other", the default) or a named slot next; the booted slot keeps the current image',
  usage: 'abu activate [other|SLOT] [--accept-irreversible] [--config FILE] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, { 'accept-irreversible': { type: 'boolean' } });
    const result = await withEngine(values, ctx, (e) => e.activate(positionals[0] ?? 'other', { acceptIrreversible: values['accept-irreversible'] === true }));
    ctx.stdout.write(values.json ? JSON.stringify(result) + '\n' : `${result.message}\n`);
    return 0;
  },
};

export const markGoodCommand = slotCommand('mark-good', 'confirm a slot (default: the booted one)', (e, slot) => e.markGood(slot),
  (slot) => ({ markedGood: slot ?? 'booted', message: `marked ${slot ?? 'the booted slot'} good` }));

export const markBadCommand = slotCommand('mark-bad', 'make a slot unbootable (default: the booted one)', (e, slot) => e.markBad(slot),
  (slot) => ({ markedBad: slot ?? 'booted', message: `marked ${slot ?? 'the booted slot'} bad` }));

export const bootCheckCommand: Command = {
  name: 'boot-check',
  summary: 'run at boot: health checks, then confirm the slot or mark it bad and reboot; reports rollbacks',
  usage: 'abu boot-check [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, {}, false);
    // Always on the appliance itself: it runs at boot before the service starts, and the appliance lock keeps it
    // from racing a daemon that does run.
    const result = await withEngine({ ...values, direct: true }, ctx, (e) => e.bootCheck());
    ctx.stdout.write(values.json ? JSON.stringify(result) + '\n' : `boot-check: ${result.outcome}: ${result.message}\n`);
    return result.outcome === 'marked-bad' ? 1 : 0;
  },
};

export const rebootCommand: Command = {
  name: 'reboot',
  summary: 'restart the appliance (the configured command, or the simulated reboot)',
  usage: 'abu reboot [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, {}, false);
    await withEngine(values, ctx, (e) => e.reboot());
    ctx.stdout.write(values.json ? JSON.stringify({ rebooting: true }) + '\n' : 'restarting\n');
    return 0;
  },
};

export const historyCommand: Command = {
  name: 'history',
  summary: 'installs, activations, confirmations and rollbacks, newest first',
  usage: 'abu history [-n N | --limit N] [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, { limit: { type: 'string', short: 'n' } }, false);
    const limit = historyLimit(values.limit);
    const entries = await withEngine(values, ctx, (e) => e.history(limit));
    if (values.json) ctx.stdout.write(JSON.stringify(entries, null, 2) + '\n');
    else for (const h of entries) ctx.stdout.write(`${h.time}  ${h.kind.padEnd(14)} ${h.slot.padEnd(3)} ${h.message}${h.code ? ` [${h.code}]` : ''}\n`);
    return 0;
  },
};

/** -n N: the newest N entries (default 50). */
function historyLimit(raw: string | boolean | undefined): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || n < 1 || n > 1000) throw new AbuError('ABU_ERR_USAGE', `-n takes a number of entries from 1 to 1000, not ${JSON.stringify(raw)}`);
  return n;
}
