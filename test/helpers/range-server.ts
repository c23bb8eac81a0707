// A local HTTP file server that counts the body bytes it sends, honouring Range (single ranges) or ignoring it.
import { createReadStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RangeServer {
  url: string;
  /** Body bytes written to clients, and every request's Range header (undefined for a plain GET). */
  bytesSent: number;
  requests: (string | undefined)[];
  /** Body bytes sent per request, in the order of `requests`. */
  sentPerRequest: number[];
  close(): Promise<void>;
}

export interface RangeServerOptions {
  ignoreRange?: boolean;
  /** Paces every body to this many bytes per second in all (one link shared by the requests, as an uplink is). */
  bytesPerSecond?: number;
}

/**
 * Serves one file at /bundle.abu. With `ignoreRange` every request gets 200 and the whole file, as some
 * servers and proxies do. A strong ETag lets clients send If-Range.
 */
export async function startRangeServer(file: string, o: RangeServerOptions = {}): Promise<RangeServer> {
  const size = (await fs.stat(file)).size;
  const state = { bytesSent: 0, requests: [] as (string | undefined)[], sentPerRequest: [] as number[] };
  const link = o.bytesPerSecond ? new PacedLink(o.bytesPerSecond) : null;
  const server = http.createServer((req, res) => {
    const n = state.requests.push(req.headers.range) - 1;
    state.sentPerRequest[n] = 0;
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const etag = `"${size}"`;
    const ranged = m !== null && !o.ignoreRange && (req.headers['if-range'] === undefined || req.headers['if-range'] === etag);
    const start = ranged ? Number(m![1]) : 0;
    const end = ranged && m![2] !== '' ? Math.min(Number(m![2]), size - 1) : size - 1;
    const headers: http.OutgoingHttpHeaders = { etag, 'content-length': end - start + 1, 'content-type': 'application/octet-stream', ...(o.ignoreRange ? {} : { 'accept-ranges': 'bytes' }) };
    if (ranged) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(ranged ? 206 : 200, headers);
    const body = createReadStream(file, { start, end, highWaterMark: 64 * 1024 });
    const count = (d: Buffer | string) => {
      state.bytesSent += d.length;
      state.sentPerRequest[n] += d.length;
    };
    res.on('close', () => body.destroy());
    if (link) return void link.send(body, res, count).catch(() => body.destroy());
    body.on('data', count);
    body.pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/bundle.abu`,
    get bytesSent() { return state.bytesSent; },
    get requests() { return state.requests; },
    get sentPerRequest() { return state.sentPerRequest; },
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A link of fixed rate: pieces leave one after another, each when the link has carried the ones before it. */
class PacedLink {
  private free = 0;

  constructor(private readonly bytesPerSecond: number) {}

  async send(body: AsyncIterable<Buffer>, res: http.ServerResponse, count: (piece: Buffer | string) => void): Promise<void> {
    for await (const piece of body) {
      count(piece);
      this.free = Math.max(this.free, Date.now()) + (piece.length / this.bytesPerSecond) * 1000;
      await new Promise((r) => setTimeout(r, this.free - Date.now()));
      if (res.destroyed) return;
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  }
}
