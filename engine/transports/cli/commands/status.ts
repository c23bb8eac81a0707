// `abu status`: both slots with version, image, state, tries, booted and primary, plus the floor, the running operation and last error.
import type { ApplianceStatus } from '../../../facade';
import type { Command, CliContext } from '../command';
import { parse, withEngine } from '../cli-support';
import { applyWarnings } from '../../../policy/apply-warnings';

export const statusCommand: Command = {
  name: 'status',
  summary: 'show both slots, which one booted, which boots next, and the floor',
  usage: 'abu status [--config FILE] [--json]',
  async run(args, ctx) {
    const { values } = parse(args, {}, false);
    const s = await withEngine(values, ctx, (e) => e.status());
    // Through the daemon the API adds the warnings; opened directly, the same function makes them here.
    const status = { ...s, warnings: 'warnings' in s && Array.isArray(s.warnings) ? (s.warnings as string[]) : applyWarnings(s) };
    ctx.stdout.write(values.json ? JSON.stringify(status, null, 2) + '\n' : formatStatus(status));
    return 0;
  },
};

export function formatStatus(s: ApplianceStatus & { warnings?: string[] }): string {
  const lines = [`product   ${s.product}`, `booted    ${s.booted}    alternate ${s.alternate}    floor ${s.floor ?? '-'}`, ''];
  lines.push('slot  version     image       state    tries  booted  primary  description');
  for (const v of s.slots) {
    lines.push(
      [v.name.padEnd(5), (v.version ?? '-').padEnd(11), v.image.padEnd(11), v.state.padEnd(8), String(v.triesLeft).padEnd(6), (v.booted ? 'yes' : '').padEnd(7), (v.primary ? 'yes' : '').padEnd(8), v.description ?? ''].join(' '),
    );
  }
  if (s.pending) lines.push('', `next boot ${s.pending.slot} (${s.pending.version}) on trial, activated ${s.pending.time}`);
  if (s.operation) lines.push('', `running   ${s.operation}`);
  // Only when nothing runs: an install in progress keeps a checkpoint too.
  else if (s.resumable) lines.push('', `resumable ${s.resumable.version} into ${s.resumable.slot}: ${s.resumable.chunksDone} of ${s.resumable.chunks} chunks written and synced (${s.resumable.savedAt}); install the same bundle again to resume`);
  // A failure a later operation got past is history, not a current fault: say so.
  if (s.lastError) lines.push('', `${s.lastError.past ? 'earlier error' : 'last error'} ${s.lastError.code}: ${s.lastError.message} (${s.lastError.time})`);
  if (s.warnings?.length) lines.push('', ...s.warnings.map((w) => `warning   ${w}`));
  return lines.join('\n') + '\n';
}

export type { CliContext };
