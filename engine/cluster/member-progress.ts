// A member's own install progress, from its event stream (GET /api/events?since=now), for "installing n %".
import * as http from 'node:http';
import * as https from 'node:https';
import type { ProgressEvent } from '../core/progress';

/**
 * Calls `onProgress` with every progress event the member's engine emits from now on; `ready` once the stream is
 * open (so nothing started after it is missed). Every event arrives, however short the install: the member's
 * meter sends one at each phase change and at each phase's end. A broken stream only stops the updates.
 */
export function watchMemberProgress(url: string, onProgress: (e: ProgressEvent) => void): { ready: Promise<void>; stop(): void } {
  let opened: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (opened = resolve));
  const target = new URL('/api/events?since=now', url);
  const req = (target.protocol === 'https:' ? https : http).get(target, (res) => {
    opened();
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (piece: string) => {
      text += piece;
      for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        const data = /^data: (.*)$/m.exec(block);
        if (/^event: progress$/m.test(block) && data) onProgress(JSON.parse(data[1]) as ProgressEvent);
      }
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => opened());
  return { ready, stop: () => req.destroy() };
}

/** The percentage of the phase an event is in, 0-100 (0 while its total is not known). */
export function phasePercent(e: ProgressEvent): number {
  return e.bytesTotal > 0 ? Math.min(100, Math.floor((100 * e.bytesDone) / e.bytesTotal)) : 0;
}
