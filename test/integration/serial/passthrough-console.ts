// Test helper: the console server over a PassThrough pair (no tty), and the host's ends of it.
import { Duplex, PassThrough } from 'node:stream';
import type { Engine } from '../../../engine/facade';
import { ConsoleServer, type ConsoleServerOptions } from '../../../engine/transports/serial/console-server';
import { LineReader } from '../../../engine/transports/serial/push-client';

export interface PassThroughConsole {
  server: ConsoleServer;
  /** What the host writes to the device. */
  toDevice: PassThrough;
  /** The device's lines, prompts stripped. */
  reader: LineReader;
  close: () => Promise<void>;
}

/** A started console on `engine`, reached through in-memory streams. */
export function passThroughConsole(engine: Engine, options: ConsoleServerOptions): PassThroughConsole {
  const toDevice = new PassThrough();
  const fromDevice = new PassThrough();
  const server = new ConsoleServer(engine, Duplex.from({ readable: toDevice, writable: fromDevice }), options);
  const reader = new LineReader(fromDevice);
  server.start();
  return { server, toDevice, reader, close: async () => { await server.stop(); reader.close(); } };
}
