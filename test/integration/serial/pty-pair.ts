// Test helper: a real pseudo-terminal pair made by socat, both ends opened with serialport, plus a line-driving host.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { SerialPort } from 'serialport';
import { openSerialPort } from '../../../engine/transports/serial/serial-port';
import { LineReader } from '../../../engine/transports/serial/push-client';
import { tempDir } from '../../helpers/bundle-fixtures';
import { simFixture, type SimFixture } from '../../helpers/sim-fixture';

export interface PtyPair {
  device: SerialPort;
  host: SerialPort;
  close: () => Promise<void>;
}

export function haveSocat(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** socat links `<dir>/dev` and `<dir>/host`; the links appear once socat has made both ptys. */
export async function ptyPair(dir: string): Promise<PtyPair> {
  const dev = path.join(dir, 'dev');
  const hostPath = path.join(dir, 'host');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${dev}`, `pty,raw,echo=0,link=${hostPath}`], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(existsSync(dev) && existsSync(hostPath)); i++) await new Promise((r) => setTimeout(r, 20));
  const device = await open(dev);
  const host = await open(hostPath);
  return { device, host, close: () => closeAll(socat, [device, host]) };
}

/** Opened as abu opens a device (engine/transports/serial/serial-port.ts), so the tests run what ships. */
function open(p: string): Promise<SerialPort> {
  return openSerialPort(p, 115200);
}

async function closeAll(socat: ChildProcess, ports: SerialPort[]): Promise<void> {
  for (const port of ports) if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  socat.kill();
}

/** Sends a command line and collects the answer up to its final `OK` or `ERR ...` line. */
export class HostConsole {
  reader: LineReader;

  constructor(private readonly port: SerialPort) {
    this.reader = new LineReader(port);
  }

  /** Forgets lines read so far (another reader, such as pushBundle, already consumed them). */
  fresh(): void {
    this.reader.close();
    this.reader = new LineReader(this.port);
  }

  send(raw: string | Buffer): void {
    this.port.write(raw);
  }

  async command(line: string): Promise<string[]> {
    this.port.write(`${line}\n`);
    return this.answer();
  }

  async answer(ms = 10_000): Promise<string[]> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.reader.next(ms);
      lines.push(l);
      if (l === 'OK' || l.startsWith('ERR ')) return lines;
    }
  }
}

export interface SimOnPty {
  fx: SimFixture;
  pty: PtyPair;
  /** Closes the ports and socat, then removes the appliance and the pty folder. */
  close: () => Promise<void>;
}

/** A small simulated appliance and a pty pair to reach it on: what every pty test starts from. */
export async function simOnPty(): Promise<SimOnPty> {
  const fx = await simFixture();
  const t = await tempDir('abu-pty-');
  const pty = await ptyPair(t.dir);
  return { fx, pty, close: async () => { await pty.close(); await fx.cleanup(); await t.cleanup(); } };
}
