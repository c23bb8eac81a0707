// A local HTTP file server with injected faults (drops, 5xx, 404, garbage, extra bytes, no Range) for download tests.
// Raw sockets rather than node:http, because a well-behaved server cannot send more bytes than it announces.
import * as net from 'node:net';

export type Fault =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; times?: number }
  | { kind: 'drop'; afterBytes: number; times?: number }
  | { kind: 'extra-bytes'; extra: number }
  | { kind: 'no-range'; dropAfterBytes: number }
  | { kind: 'garbage'; size: number }
  | { kind: 'stall'; afterBytes: number }
  /** Reads the request and never answers, with the connection left open. */
  | { kind: 'silent' };

export interface FaultServer {
  url(path?: string): string;
  /** Every request's path and Range header, in order. */
  requests: { path: string; range?: string }[];
  close(): Promise<void>;
}

export async function startFaultServer(body: Buffer | (() => Buffer), fault: Fault): Promise<FaultServer> {
  const requests: FaultServer['requests'] = [];
  let failures = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let head = '';
    socket.on('data', (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const path = head.split(' ')[1] ?? '/';
      const range = /\r\nrange: *bytes=(\d+)-/i.exec(head)?.[1];
      requests.push({ path, range: range === undefined ? undefined : `bytes=${range}-` });
      const data = typeof body === 'function' ? body() : body;
      respond(socket, data, fault, range === undefined ? 0 : Number(range), failures++);
      head = '';
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: (p = '/bundle.abu') => `http://127.0.0.1:${port}${p}`,
    requests,
    close: () =>
      new Promise((r) => {
        // Connections a test abandoned would keep close() waiting.
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function respond(socket: net.Socket, data: Buffer, fault: Fault, from: number, attempt: number): void {
  const times = 'times' in fault && fault.times !== undefined ? fault.times : Infinity;
  if (fault.kind === 'status' && attempt < times) return send(socket, fault.status, {}, Buffer.from(`error ${fault.status}\n`));
  if (fault.kind === 'garbage') return send(socket, 200, {}, Buffer.alloc(fault.size, 0x5a));
  if (fault.kind === 'extra-bytes') return send(socket, 200, { 'content-length': String(data.length) }, Buffer.concat([data, Buffer.alloc(fault.extra, 0x41)]));
  if (fault.kind === 'silent') return;
  if (fault.kind === 'stall') {
    // Send the head and part of the body, then go silent with the connection open.
    writeHead(socket, 200, {}, data.length);
    socket.write(data.subarray(0, fault.afterBytes));
    return;
  }
  const ranged = from > 0 && fault.kind !== 'no-range';
  const slice = ranged ? data.subarray(from) : data;
  const headers: Record<string, string> = { 'accept-ranges': 'bytes', etag: '"v1"' };
  if (ranged) headers['content-range'] = `bytes ${from}-${data.length - 1}/${data.length}`;
  const dropAt = fault.kind === 'drop' && attempt < times ? fault.afterBytes : fault.kind === 'no-range' && attempt === 0 ? fault.dropAfterBytes : undefined;
  if (dropAt === undefined) return send(socket, ranged ? 206 : 200, headers, slice);
  writeHead(socket, ranged ? 206 : 200, headers, slice.length);
  // Send part of the body, then cut the connection as a flaky network would.
  socket.write(slice.subarray(0, dropAt), () => socket.destroy());
}

function send(socket: net.Socket, status: number, headers: Record<string, string>, body: Buffer): void {
  writeHead(socket, status, headers, Number(headers['content-length'] ?? body.length));
  socket.end(body);
}

function writeHead(socket: net.Socket, status: number, headers: Record<string, string>, length: number): void {
  const all = { 'content-type': 'application/octet-stream', connection: 'close', ...headers, 'content-length': String(length) };
  socket.write(`HTTP/1.1 ${status} X\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
}
