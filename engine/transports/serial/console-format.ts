// Compact text for the serial console: status and history that fit an 80-column terminal and a line-based script.
import type { ApplianceStatus, HistoryEntry, InstallResult } from '../../facade';
import { oneLine } from './console-protocol';

/** `slot A version=1.0.0 state=good tries=0 booted primary`: key=value so scripts can pick fields. */
export function formatStatus(s: ApplianceStatus): string[] {
  const slots = s.slots.map((v) => {
    const flags = [v.booted ? 'booted' : '', v.primary ? 'primary' : '', v.irreversible ? 'irreversible' : ''].filter((f) => f);
    return oneLine(`slot ${v.name} version=${v.version ?? '-'} state=${v.state} tries=${v.triesLeft} ${flags.join(' ')}`);
  });
  const err = s.lastError ? `${s.lastError.code} ${s.lastError.time} ${s.lastError.message}` : '-';
  return [
    oneLine(`product ${s.product}`),
    ...slots,
    `booted ${s.booted}`,
    `primary ${s.slots.find((v) => v.primary)?.name ?? '-'}`,
    oneLine(`floor ${s.floor ?? '-'}`),
    oneLine(`operation ${s.operation ?? '-'}`),
    oneLine(`last-error ${err}`),
  ];
}

export function formatHistory(entries: HistoryEntry[]): string[] {
  return entries.map((e) => oneLine(`${e.time} ${e.kind} ${e.slot} ${e.version ?? '-'}${e.code ? ` ${e.code}` : ''} ${e.message}`));
}

export function formatInstalled(r: InstallResult): string[] {
  const lines = [`installed ${r.version} into slot ${r.slot} (${r.bytesWritten} bytes in ${r.seconds.toFixed(1)} s)`];
  if (r.transfer) lines.push(`transfer: ${r.transfer.fetched} bytes fetched, ${r.transfer.copied} copied from the booted slot, ${r.transfer.skipped} already in slot ${r.slot}`);
  lines.push(r.activated ? `slot ${r.slot} is tried on the next boot` : `slot ${r.slot} is not activated; use activate other`);
  return lines;
}
