// A bundle downloaded over http/https, streamed with backpressure; resumes with Range after a dropped connection.
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbuError, isAbuError } from '../core/errors';
import type { ImageSource, OpenOptions } from './image-source';
import { HttpRangeReader } from './http-range';
import type { RangeCapable } from './range-reader';
import { piecesOf } from './stream-pieces';

export interface HttpUrlSourceOptions {
  /** Bytes accepted at most (what the alternate slot can take). */
  maxBytes: number;
  /** Reconnects after a dropped connection or a 5xx, in total (default 3). */
  retries?: number;
  retryDelayMs?: number;
  /** A connection silent this long counts as dropped (default 30 s). */
  idleTimeoutMs?: number;
  /** CA certificates to trust for https (tests, private PKI). */
  ca?: string | Buffer;
}

/** What one response told us: where it starts, the full size, and validators for If-Range. */
interface Progress {
  received: number;
  total?: number;
  /** Adaptive installs: only the head up to here is streamed (a Range request); chunks come by range later. */
  headEnd?: number;
  validator?: string;
}

const MAX_REDIRECTS = 5;
/**
 * Read-ahead in pieces (each at most one socket read, 64 KiB): up to 1 MiB, less than SCAVENGE_BYTES
 * (transports/http/scavenger.ts), so a piece outlives at most one paced collection and is never promoted to the old
 * generation, which only a full GC frees. Object mode, so the bundle reader
 * takes one piece at a time and copies it once (in byte mode read() first concatenated all that was buffered).
 */
const READ_AHEAD_PIECES = 16;

/**
 * Downloads front to back. 4xx answers fail at once; dropped connections, stalls and 5xx are retried
 * up to `retries` times, resuming at the last byte received (If-Range guards against a file that changed).
 * Every wait (connecting, the pause between attempts, a silent body) ends as soon as the open() signal
 * aborts or the stream is destroyed: a cancel never waits for a timeout.
 */
export class HttpUrlSource implements ImageSource {
  readonly description: string;
  private readonly url: URL;
  private readonly progress: Progress = { received: 0 };
  private opened = false;
  private retriesLeft: number;
  /** Aborted by the caller's signal or by destroying the stream; every wait below listens to it. */
  private readonly stop = new AbortController();
  /** OpenOptions.onReceived: told each piece's size as it arrives. */
  private onReceived?: (bytes: number) => void;

  constructor(url: string, private readonly options: HttpUrlSourceOptions) {
    this.url = parseUrl(url);
    this.retriesLeft = options.retries ?? 3;
    this.description = `download ${redact(this.url)}`;
  }

  get sizeHint(): number | undefined {
    return this.progress.total;
  }

  async open(signal?: AbortSignal, options: OpenOptions = {}): Promise<Readable> {
    if (this.opened) throw new AbuError('ABU_ERR_INTERNAL', `${this.description}: a download can be opened only once`);
    this.opened = true;
    signal?.throwIfAborted();
    signal?.addEventListener('abort', () => this.stop.abort(signal.reason), { once: true });
    if (options.headBytes !== undefined) this.progress.headEnd = options.headBytes;
    this.onReceived = options.onReceived;
    // Connect before returning so a 404 fails open() with a clear error instead of a broken stream.
    const first = await this.retrying(() => this.connect(this.url, 0));
    // A server that answered the head's Range with 200 ignores Range: the whole bundle streams, as without it.
    const ranged = this.progress.headEnd !== undefined;
    // Let the download run up to a few MiB ahead of the installer, so network and disk work overlap.
    const stream = Readable.from(this.download(first), { objectMode: true, highWaterMark: READ_AHEAD_PIECES });
    // Readable.from finishes destroying only when the generator next wakes; a silent server would hold it
    // (and the reader waiting for 'error') until the idle timeout, so destroying first stops every wait.
    const destroyGenerator = stream._destroy.bind(stream);
    stream._destroy = (err, cb) => {
      this.stop.abort(err ?? new AbuError('ABU_ERR_SOURCE', `${this.description}: the download was closed before it ended`));
      destroyGenerator(err, cb);
    };
    if (!ranged) return stream;
    // Adaptive installs fetch only the chunks the appliance lacks, with Range requests against the same validator;
    // this stream ends after the head, so the Range requests stop only with the caller's signal.
    const rangeStop = new AbortController();
    signal?.addEventListener('abort', () => rangeStop.abort(signal.reason), { once: true });
    const ranges = new HttpRangeReader(this.url, rangeStop.signal, { validator: this.progress.validator, ca: this.options.ca, retries: this.options.retries, idleTimeoutMs: this.options.idleTimeoutMs, onReceived: options.onReceived });
    return Object.assign(stream, { rangeReader: ranges }) satisfies RangeCapable;
  }

  private async *download(first: http.IncomingMessage): AsyncGenerator<Buffer> {
    let response = first;
    for (;;) {
      try {
        yield* this.body(response);
        return;
      } catch (e) {
        await this.beforeRetry(e);
        response = await this.retrying(() => this.connect(this.url, 0));
      }
    }
  }

  /** Runs `fn` until it succeeds, a failure is not worth retrying, or the retries are used up. */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        await this.beforeRetry(e);
      }
    }
  }

  private async beforeRetry(e: unknown): Promise<void> {
    const stop = this.stop.signal;
    if (stop.aborted) throw stop.reason;
    if (!isRetryable(e) || this.retriesLeft-- <= 0) throw finalError(this.description, e, this.progress);
    await sleep(this.options.retryDelayMs ?? 500, undefined, { signal: stop }).catch(() => Promise.reject(stop.reason));
  }

  private async *body(res: http.IncomingMessage): AsyncGenerator<Buffer> {
    const idle = this.options.idleTimeoutMs ?? 30_000;
    res.socket?.setTimeout(idle, () => res.destroy(new DroppedError(`no data for ${idle} ms`)));
    const closed = requestOutcome(res);
    const stop = () => res.destroy(this.stop.signal.reason);
    if (this.stop.signal.aborted) stop();
    this.stop.signal.addEventListener('abort', stop, { once: true });
    try {
      for await (const chunk of piecesOf(res)) {
        this.progress.received += chunk.length;
        this.onReceived?.(chunk.length);
        this.checkBounds();
        yield chunk;
      }
      await closed;
    } finally {
      this.stop.signal.removeEventListener('abort', stop);
    }
    const { received, total } = this.progress;
    const end = this.progress.headEnd ?? total;
    if (end !== undefined && received < end) throw new DroppedError(`connection ended at ${received} of ${total} bytes`);
  }

  private checkBounds(): void {
    const { received, total } = this.progress;
    if (total !== undefined && received > total) throw moreThanAnnounced(total);
    if (received > this.options.maxBytes) {
      throw new AbuError('ABU_ERR_IMAGE_TOO_LARGE', `the download is larger than the alternate slot can take (over ${this.options.maxBytes} bytes)`, { details: { limit: this.options.maxBytes } });
    }
  }

  /** One request: follows redirects, asks for the rest with Range when resuming, validates the answer. */
  private async connect(url: URL, redirects: number): Promise<http.IncomingMessage> {
    const res = await request(url, this.requestHeaders(), this.stop.signal, this.options.ca);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location && status !== 304) {
      res.resume();
      if (redirects >= MAX_REDIRECTS) throw sourceError(`more than ${MAX_REDIRECTS} redirects`, { status });
      return this.connect(parseUrl(new URL(res.headers.location, url).toString()), redirects + 1);
    }
    if (status >= 500 || status === 408 || status === 429) {
      res.resume();
      throw new DroppedError(`the server answered ${status} ${res.statusMessage ?? ''}`.trim(), status);
    }
    if (status !== 200 && status !== 206) {
      res.resume();
      throw sourceError(`${redact(url)} answered ${status} ${res.statusMessage ?? ''}`.trim(), { status });
    }
    this.accept(res, status);
    return res;
  }

  private requestHeaders(): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = { 'user-agent': 'abu', accept: 'application/octet-stream' };
    if (this.progress.received > 0 || this.progress.headEnd !== undefined) {
      headers.range = `bytes=${this.progress.received}-${this.progress.headEnd === undefined ? '' : this.progress.headEnd - 1}`;
      if (this.progress.validator) headers['if-range'] = this.progress.validator;
    }
    return headers;
  }

  /** The first answer was for the head only: learn the full size and the validator the chunk ranges will use. */
  private acceptHead(res: http.IncomingMessage, total: string): void {
    const p = this.progress;
    if (total === '*') throw sourceError('the server does not say the bundle\'s size in its Range answer (Content-Range "*")', {});
    p.total = Number(total);
    p.validator = strongValidator(res.headers);
    if (p.headEnd !== undefined) p.headEnd = Math.min(p.headEnd, p.total);
  }

  /** Checks a 200/206 against what was already received; a resumed download must continue exactly. */
  private accept(res: http.IncomingMessage, status: number): void {
    const p = this.progress;
    const length = headerInt(res.headers['content-length']);
    if (status === 200) {
      if (p.received > 0) throw sourceError(`the server does not resume downloads (it answered 200 to a Range request after ${p.received} bytes)`, { status });
      p.total = length;
      p.validator = strongValidator(res.headers);
      p.headEnd = undefined; // the server ignores Range: the whole bundle streams
    } else {
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
      if (!range || Number(range[1]) !== p.received) throw sourceError(`the server resumed at the wrong place (Content-Range "${res.headers['content-range'] ?? ''}", expected byte ${p.received})`, { status });
      if (range[3] !== '*' && p.total !== undefined && Number(range[3]) !== p.total) throw sourceError('the file changed size during the download', { status });
      if (p.received === 0) this.acceptHead(res, range[3]);
    }
    if (p.total !== undefined && p.total > this.options.maxBytes) {
      throw new AbuError('ABU_ERR_IMAGE_TOO_LARGE', `the download announces ${p.total} bytes; the alternate slot takes at most ${this.options.maxBytes}`, { details: { size: p.total, limit: this.options.maxBytes } });
    }
  }
}

/** A failure worth reconnecting for (dropped connection, stall, 5xx). */
class DroppedError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** One GET; `stop` aborting rejects with its reason (never retried) whether connecting or awaiting the answer. */
export function request(url: URL, headers: http.OutgoingHttpHeaders, stop: AbortSignal, ca?: string | Buffer): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (stop.aborted) return reject(stop.reason);
    const lib = url.protocol === 'https:' ? https : http;
    const abort = () => req.destroy(stop.reason);
    const req = lib.get(url, { headers, agent: false, ...(ca ? { ca } : {}) }, (res) => {
      stop.removeEventListener('abort', abort); // from here the body's own listener takes over
      resolve(res);
    });
    stop.addEventListener('abort', abort, { once: true });
    req.on('error', (e) => {
      stop.removeEventListener('abort', abort);
      reject(stop.aborted ? stop.reason : new DroppedError(e.message));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')));
  });
}

/** Resolves when the request closes; rejects when the server sent bytes after the announced length. */
function requestOutcome(res: http.IncomingMessage): Promise<void> {
  const req = (res as unknown as { req: http.ClientRequest }).req;
  let parseError: (Error & { code?: string }) | undefined;
  req.on('error', (e: Error & { code?: string }) => { parseError = e; });
  return new Promise((resolve, reject) => {
    const done = () => {
      // Node's parser reports bytes after Content-Length as a parse error on the request.
      if (parseError?.code?.startsWith('HPE_')) reject(moreThanAnnounced(headerInt(res.headers['content-length'])));
      else resolve();
    };
    if (req.closed) done();
    else req.once('close', done);
  });
}

function isRetryable(e: unknown): boolean {
  return e instanceof DroppedError || (e as { code?: string })?.code === 'ECONNRESET' || (e as { code?: string })?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

function finalError(description: string, e: unknown, p: Progress): AbuError {
  if (isAbuError(e)) return e;
  const status = e instanceof DroppedError ? e.status : undefined;
  return sourceError(`${description}: ${(e as Error).message} (gave up after retries, ${p.received} bytes received)`, { status, bytesReceived: p.received });
}

function moreThanAnnounced(total: number | undefined): AbuError {
  return sourceError(`the server sent more bytes than the ${total ?? '?'} it announced`, { announced: total });
}

function sourceError(message: string, details: Record<string, unknown>): AbuError {
  return new AbuError('ABU_ERR_HTTP_SOURCE', message, { details });
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AbuError('ABU_ERR_USAGE', `not a URL: ${JSON.stringify(String(raw).slice(0, 200))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AbuError('ABU_ERR_USAGE', `only http and https URLs can be downloaded, not ${url.protocol}`);
  return url;
}

/** Never log credentials embedded in a URL. */
function redact(url: URL): string {
  if (!url.username && !url.password) return url.toString();
  const copy = new URL(url.toString());
  copy.username = '***';
  copy.password = '';
  return copy.toString();
}

function headerInt(v: string | string[] | undefined): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Only a strong ETag or a Last-Modified date can make If-Range safe. */
function strongValidator(h: http.IncomingHttpHeaders): string | undefined {
  if (h.etag && !h.etag.startsWith('W/')) return h.etag;
  return h['last-modified'];
}
