// Connects to a unix socket QEMU is about to create, retrying until it exists or the deadline passes.
import * as net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

/** QEMU creates its server sockets a few ms to a few s after spawn, so the first attempts may find nothing. */
export async function connectWhenReady(path: string, timeoutMs: number, isAlive: () => boolean): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`QEMU exited before opening ${path}`);
    try {
      return await connectOnce(path);
    } catch (e) {
      lastError = e;
      await delay(50);
    }
  }
  throw new Error(`QEMU did not open ${path} within ${timeoutMs} ms: ${String(lastError)}`);
}

function connectOnce(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    socket.once('connect', () => {
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on right now (for QEMU's hostfwd). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
