// The fetching side of GET /api/site/peer/replicas/:sha/content: the bytes, then the source's verdict in a trailer.
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { AbuError } from '../core/errors';
import type { ReplicaFetch } from './member-client';

/** Trailer the source ends a fetch with: "verified", or "discarded" with the reason in REASON_TRAILER. */
export const STATE_TRAILER = 'abu-replica-state';
export const REASON_TRAILER = 'abu-replica-reason';

/**
 * The body ends as soon as bytes [offset, size) arrived, so the fetching member verifies its copy while its source
 * still verifies its own; the outcome follows the source's trailer. A transfer cut short errors the body (the bytes
 * that arrived are kept, to resume with Range); a source that discarded its copy errors both.
 */
export function receiveFetch(res: IncomingMessage, offset: number, unreachable: (e: Error) => AbuError): ReplicaFetch {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''));
  const size = m ? Number(m[3]) : -1;
  const body = new PassThrough({ highWaterMark: 1024 * 1024 });
  // A source killed mid-transfer errors the body, maybe before the store began reading it (it opens its file first):
  // the reader still gets the error through its own read; without this listener the member's process would exit.
  body.on('error', () => undefined);
  let got = 0;
  const expected = size - offset;
  const outcome = new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => {
      if (!body.writableEnded) body.destroy(e);
      reject(e);
    };
    if (!m || Number(m[1]) !== offset) return fail(new AbuError('ABU_ERR_SITE_RANGE', `the source answered "${res.headers['content-range']}" to a fetch from byte ${offset}`));
    res.on('data', (b: Buffer) => {
      got += b.length;
      if (got > expected) return fail(new AbuError('ABU_ERR_USAGE', `the source sent more than the ${size} bytes it announced`));
      if (!body.write(b)) res.pause();
      if (got === expected) body.end();
    });
    body.on('drain', () => res.resume());
    res.on('end', () => {
      const t = res.trailers[STATE_TRAILER];
      if (t === 'verified' && got === expected) return resolve();
      if (t === 'discarded') return fail(new AbuError('ABU_ERR_SITE_SOURCE_DISCARDED', `the source discarded its replica: ${decodeURIComponent(res.trailers[REASON_TRAILER] ?? 'no reason given')}`));
      fail(unreachable(new Error(`the transfer ended after ${got} of ${expected} bytes without the source's verdict`)));
    });
    res.on('aborted', () => fail(unreachable(new Error(`the transfer broke after ${got} of ${expected} bytes`))));
    res.on('error', (e) => fail(unreachable(e)));
  });
  outcome.catch(() => undefined); // observed by the puller; never an unhandled rejection
  if (expected === 0) body.end();
  return { size, body, outcome };
}
