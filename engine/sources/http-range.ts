// Range GETs of a bundle URL for adaptive installs: one request per coalesced run of chunks, each 206 checked exactly.
import type * as http from 'node:http';
import { AbuError } from '../core/errors';
import { RangeIgnoredError, type RangeReader } from './range-reader';
import { piecesOf } from './stream-pieces';

export interface RangeReaderOptions {
  /** Strong ETag or Last-Modified of the first answer: a changed bundle is never mixed with the old one. */
  validator?: string;
  ca?: string | Buffer;
  /** Reconnects per run after a dropped connection (default 3). */
  retries?: number;
  idleTimeoutMs?: number;
  /** Told each piece's size as it arrives (OpenOptions.onReceived). */
  onReceived?: (bytes: number) => void;
}

const MAX_REDIRECTS = 5;

export class HttpRangeReader implements RangeReader {
  /** Bytes received in Range answers (what the adaptive install downloaded for its chunks). */
  received = 0;
  requests = 0;

  constructor(private readonly url: URL, private readonly stop: AbortSignal, private readonly options: RangeReaderOptions) {}

  /**
   * Bytes [start, start+length) of the bundle, in pieces as they arrive. A dropped connection is resumed
   * where it stopped (up to `retries` times). Throws RangeIgnoredError when the server answers 200.
   */
  async *range(start: number, length: number): AsyncGenerator<Buffer> {
    let at = start;
    const end = start + length;
    for (let retries = this.options.retries ?? 3; ; retries--) {
      try {
        const res = await this.get(at, end - 1);
        for await (const piece of piecesOf(res)) {
          const take = piece.subarray(0, Math.max(0, end - at));
          at += take.length;
          this.received += piece.length;
          this.options.onReceived?.(piece.length);
          if (take.length > 0) yield take;
        }
        if (at < end) throw new Error(`connection ended at byte ${at} of the range ${start}-${end - 1}`);
        return;
      } catch (e) {
        if (e instanceof RangeIgnoredError || e instanceof AbuError || this.stop.aborted || retries <= 0) throw this.stop.aborted ? this.stop.reason : e;
      }
    }
  }

  /** One Range GET (following redirects) answered 206 with exactly the asked Content-Range. */
  private async get(first: number, last: number): Promise<http.IncomingMessage> {
    // Loaded here: a RangeReader exists only for an HTTP source (so this is already in memory), while an adaptive
    // install from a file loads this module without needing node:http or node:https.
    const { request } = await import('./http-url-source');
    let url = this.url;
    for (let redirects = 0; ; redirects++) {
      this.requests++;
      const headers: http.OutgoingHttpHeaders = { 'user-agent': 'abu', range: `bytes=${first}-${last}` };
      if (this.options.validator) headers['if-range'] = this.options.validator;
      const res = await request(url, headers, this.stop, this.options.ca);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && redirects < MAX_REDIRECTS) {
        res.resume();
        url = new URL(res.headers.location, url);
        continue;
      }
      if (status === 206) return this.checked(res, first, last);
      res.destroy();
      if (status === 200) throw new RangeIgnoredError(`the server answered 200 to a Range request for bytes ${first}-${last}`);
      if (status >= 500) throw new Error(`the server answered ${status} to a Range request`);
      throw new AbuError('ABU_ERR_HTTP_SOURCE', `the server answered ${status} to a Range request for bytes ${first}-${last} of the bundle`, { details: { status } });
    }
  }

  private checked(res: http.IncomingMessage, first: number, last: number): http.IncomingMessage {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
    if (!range || Number(range[1]) !== first || Number(range[2]) !== last) {
      res.destroy();
      throw new AbuError('ABU_ERR_HTTP_SOURCE', `the server answered a Range request for bytes ${first}-${last} with Content-Range "${res.headers['content-range'] ?? ''}"`, { details: { first, last } });
    }
    const idle = this.options.idleTimeoutMs ?? 30_000;
    res.socket?.setTimeout(idle, () => res.destroy(new Error(`no data for ${idle} ms`)));
    const stop = () => res.destroy(this.stop.reason);
    this.stop.addEventListener('abort', stop, { once: true });
    res.once('close', () => this.stop.removeEventListener('abort', stop));
    return res;
  }
}
