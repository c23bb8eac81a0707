// Usage errors worded for the person at the terminal: node:util parseArgs's messages made readable, and "did you
// mean" suggestions for a mistyped command or option.
import { AbuError } from '../../core/errors';
import { suggest } from '../../core/suggest';

export { suggest };

/**
 * An ABU_ERR_USAGE for an error thrown by node:util parseArgs. Its own messages are written for programmers
 * ("To specify a positional argument starting with a '-', place it at the end of the command after '--'..."): this
 * names the option, suggests the nearest known one, and leaves the command's usage line to the caller.
 */
export function parseArgsUsageError(e: unknown, known: string[]): AbuError {
  const err = e as { code?: string; message?: string };
  const message = String(err.message ?? e);
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) {
    const near = suggest(option.replace(/=.*$/, ''), known.map((k) => (k.length === 1 ? `-${k}` : `--${k}`)));
    return usage(`unknown option ${option}${near ? ` (did you mean ${near}?)` : ''}`, { option });
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument missing|ambiguous/.test(message)) return usage(`${option} needs a value (a value that starts with "-" is read as another option)`, { option });
    if (/does not take an argument/.test(message)) return usage(`${option} takes no value`, { option });
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1];
    return usage(`unexpected argument${arg ? ` "${arg}"` : ''}: this command takes none`, {});
  }
  return usage(message, {});
}

function usage(message: string, details: Record<string, unknown>): AbuError {
  return new AbuError('ABU_ERR_USAGE', message, { details });
}
