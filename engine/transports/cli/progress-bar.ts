// A one-line terminal progress bar for installs (plain log lines when stderr is not a TTY).
import type { Writable } from 'node:stream';
import type { EventSink, LogEvent, ProgressEvent } from '../../core/progress';
import { humanBytes } from './cli-support';

export function progressBar(out: Writable & { isTTY?: boolean }): EventSink {
  let lastPhase = '';
  let drawn = false;
  const clear = () => {
    if (drawn && out.isTTY) out.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    progress(e: ProgressEvent) {
      if (!out.isTTY) {
        if (e.phase !== lastPhase) out.write(`[${e.phase}]\n`);
        lastPhase = e.phase;
        return;
      }
      out.write('\r\x1b[2K' + renderBar(e));
      drawn = true;
    },
    log(e: LogEvent) {
      clear();
      out.write(`${e.level === 'info' ? '' : e.level + ': '}${e.message}\n`);
    },
  };
}

function renderBar(e: ProgressEvent): string {
  const pct = e.bytesTotal > 0 ? Math.min(100, (e.bytesDone * 100) / e.bytesTotal) : 0;
  const width = 30;
  const full = Math.round((pct / 100) * width);
  const eta = e.etaSeconds !== undefined ? ` eta ${e.etaSeconds}s` : '';
  const t = e.transfer ? ` fetched ${humanBytes(e.transfer.fetched)} copied ${humanBytes(e.transfer.copied)} skipped ${humanBytes(e.transfer.skipped)}` : '';
  return `${e.phase.padEnd(9)} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${pct.toFixed(0).padStart(3)}% ${humanBytes(e.bytesDone)}/${humanBytes(e.bytesTotal)} ${humanBytes(e.rate)}/s${eta}${t}`;
}
