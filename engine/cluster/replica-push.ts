// Sends one bundle file to one member, continuing from however many bytes the member says it holds (HTTP Range style).
import { faultPoint } from '../core/fault-point';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { isAbuError } from '../core/errors';
import type { MemberClient, PushResult } from './member-client';

export interface PushOptions {
  /** Cap on the sending rate, so replication does not fill the link between data centers. */
  maxBytesPerSecond: number | null;
  /** Called with the bytes the member holds so far (its offset plus what was sent since). */
  onProgress?: (have: number, size: number, sent: number) => void;
  /** Stops sending (the bundle was removed); the member keeps what it has until told to delete it. */
  signal?: AbortSignal;
}

/**
 * Asks the member what it holds, then sends the rest. The member verifies the bundle itself when it is
 * complete; its answer (not this sender's belief) says whether the replica is verified. One resume round is
 * retried here when the member's offset moved between question and upload (ABU_ERR_SITE_RANGE).
 */
export async function pushReplica(file: string, sha256: string, size: number, to: MemberClient, o: PushOptions): Promise<PushResult> {
  for (let round = 0; ; round++) {
    const held = await to.replica(sha256);
    if (held.state === 'verified') return { offset: held.have, sent: 0, state: held };
    // A partial of another announced size cannot be continued: the member starts it over at 0.
    const offset = held.state === 'partial' && held.size === size ? held.have : 0;
    let sent = 0;
    const counter = meter((n) => {
      faultPoint('replication.send-mid-transfer');
      sent += n;
      o.onProgress?.(offset + sent, size, sent);
    }, o.maxBytesPerSecond);
    const body = createReadStream(file, { start: offset, highWaterMark: 256 * 1024 }).pipe(counter);
    const stop = () => body.destroy(o.signal!.reason as Error);
    o.signal?.addEventListener('abort', stop, { once: true });
    try {
      const state = await to.sendReplica(sha256, size, offset, body);
      return { offset, sent, state };
    } catch (e) {
      if (isAbuError(e, 'ABU_ERR_SITE_RANGE') && round === 0) continue;
      throw Object.assign(e as Error, { offset, sent });
    } finally {
      o.signal?.removeEventListener('abort', stop);
      body.destroy();
    }
  }
}

/** Counts bytes going through and, with a rate cap, holds each piece back until the average rate allows it. */
function meter(onBytes: (n: number) => void, maxBytesPerSecond: number | null): Transform {
  const started = Date.now();
  let total = 0;
  return new Transform({
    highWaterMark: 64 * 1024,
    transform(piece: Buffer, _enc, done) {
      const pieces = maxBytesPerSecond ? split(piece, Math.max(4096, Math.floor(maxBytesPerSecond / 10))) : [piece];
      const next = (i: number): void => {
        if (i >= pieces.length) return done();
        total += pieces[i].length;
        const due = maxBytesPerSecond ? started + (total / maxBytesPerSecond) * 1000 - Date.now() : 0;
        const send = () => {
          onBytes(pieces[i].length);
          this.push(pieces[i]);
          next(i + 1);
        };
        if (due > 0) setTimeout(send, due);
        else send();
      };
      next(0);
    },
  });
}

function split(piece: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < piece.length; at += size) out.push(piece.subarray(at, at + size));
  return out;
}
