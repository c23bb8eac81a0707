// The serial console's commands other than install: each runs on the engine and returns its answer lines.
import { AbuError } from '../../core/errors';
import type { SlotName } from '../../core/slot';
import type { Engine, InstallOptions } from '../../facade';
import { formatHistory, formatStatus } from './console-format';
import { HELP_TEXT } from './console-protocol';

/**
 * The explicit word an operator types to activate an irreversible release (as `--accept-irreversible` on the
 * CLI); without it the engine refuses with ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED and says so.
 */
export const ACCEPT_IRREVERSIBLE = 'accept-irreversible';
const NO_ACTIVATE = 'no-activate';
const NO_ADAPTIVE = 'no-adaptive';

/** Commands that change the appliance: the console's log names their outcome, not just OK. */
export const CHANGING_VERBS = new Set(['activate', 'mark-good', 'mark-bad', 'reboot']);

export async function runCommand(engine: Engine, verb: string, args: string[]): Promise<string[]> {
  switch (verb) {
    case 'help': return HELP_TEXT;
    case 'status': return formatStatus(await engine.status());
    case 'history': return formatHistory(await engine.history(historyCount(args[0])));
    case 'activate': return activate(engine, args);
    case 'mark-good': await engine.markGood(optionalSlot(args[0])); return ['marked good'];
    case 'mark-bad': await engine.markBad(optionalSlot(args[0])); return ['marked bad'];
    case 'reboot': await engine.reboot(); return ['rebooted'];
    case 'cancel': throw new AbuError('ABU_ERR_NOTHING_RUNNING', 'no upload runs on this console, so there is nothing to cancel');
    default: throw new AbuError('ABU_ERR_USAGE', `unknown command "${verb}"`);
  }
}

/** `activate [other|SLOT] [accept-irreversible]`: the alternate image by default, as `abu activate` on the CLI. */
async function activate(engine: Engine, args: string[]): Promise<string[]> {
  const words = args.filter((a) => !isAcceptWord(a));
  if (words.length > 1 || args.length - words.length > 1) throw new AbuError('ABU_ERR_USAGE', `activate takes [other|SLOT] [${ACCEPT_IRREVERSIBLE}]`);
  const target = words[0] === undefined || words[0] === 'other' ? 'other' : slotName(words[0]);
  const result = await engine.activate(target, { acceptIrreversible: words.length < args.length });
  return [result.message];
}

/** The words after `install SIZE SHA256`: accept-irreversible, no-activate, no-adaptive (write every chunk, as `abu install --no-adaptive`). */
export function installOptions(words: string[]): Pick<InstallOptions, 'acceptIrreversible' | 'activate' | 'adaptive'> {
  const options: Pick<InstallOptions, 'acceptIrreversible' | 'activate' | 'adaptive'> = {};
  for (const w of words) {
    if (isAcceptWord(w)) options.acceptIrreversible = true;
    else if (w === NO_ACTIVATE || w === `--${NO_ACTIVATE}`) options.activate = false;
    else if (w === NO_ADAPTIVE || w === `--${NO_ADAPTIVE}`) options.adaptive = false;
    else throw new AbuError('ABU_ERR_USAGE', `install takes SIZE SHA256HEX [${ACCEPT_IRREVERSIBLE}] [${NO_ACTIVATE}] [${NO_ADAPTIVE}], not "${w.slice(0, 40)}"`);
  }
  return options;
}

/** The CLI spelling is taken too, for operators used to it. */
function isAcceptWord(w: string): boolean {
  return w === ACCEPT_IRREVERSIBLE || w === `--${ACCEPT_IRREVERSIBLE}`;
}

function slotName(s: string): SlotName {
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(s)) throw new AbuError('ABU_ERR_SLOT_UNKNOWN', `"${s.slice(0, 20)}" is not a slot name`);
  return s as SlotName;
}

function optionalSlot(s: string | undefined): SlotName | undefined {
  return s === undefined ? undefined : slotName(s);
}

function historyCount(raw: string | undefined): number {
  if (raw === undefined) return 10;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new AbuError('ABU_ERR_USAGE', `history N must be 1-1000, not "${raw.slice(0, 20)}"`);
  return n;
}
