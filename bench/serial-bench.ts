// Serial push benchmark: a ~256 KiB bundle over a pty pair paced to 115200 baud, one block at a time vs a window in flight.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import type { SerialPort } from 'serialport';
import { createEngine } from '../engine/engine';
import { createSimAppliance } from '../engine/sim/create-sim-appliance';
import { BLOCK_BYTES, encodeBlock } from '../engine/transports/serial/console-protocol';
import { ConsoleServer } from '../engine/transports/serial/console-server';
import { pushBundle } from '../engine/transports/serial/push-client';
import { ptyPair } from '../test/integration/serial/pty-pair';
import { machineLine } from './process-run';

/** 115200 baud with 8N1 framing: 10 bits a byte. */
const BYTES_PER_SECOND = 11_520;
/** A 16550's receive FIFO: the most bytes that leave the line in one go. */
const SLICE = 16;

/**
 * One direction of a paced line: bytes leave at BYTES_PER_SECOND in slices of SLICE, each arriving `latencyMs`
 * after it left (a USB serial adapter holds received bytes up to its latency timer, 16 ms by default on FTDI).
 * socat cannot throttle a pty, so the pacing happens here, between the pusher and the host end of the pty pair.
 */
class PacedDirection {
  private freeAt = 0;
  /** Slices in the order they left, each with when it arrives: one timer drains them, so none overtakes another. */
  private readonly queue: { due: number; bytes: Buffer }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deliver: (b: Buffer) => void, private readonly latencyMs: number) {}

  send(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; at += SLICE) {
      const slice = bytes.subarray(at, at + SLICE);
      this.freeAt = Math.max(this.freeAt, performance.now()) + (slice.length * 1000) / BYTES_PER_SECOND;
      this.queue.push({ due: this.freeAt + this.latencyMs, bytes: slice });
    }
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      const ready: Buffer[] = [];
      while (this.queue.length > 0 && this.queue[0].due <= now) ready.push(this.queue.shift()!.bytes);
      if (ready.length > 0) this.deliver(Buffer.concat(ready));
      this.arm();
    }, Math.max(0, this.queue[0].due - performance.now()));
  }
}

/** The pusher's side of the line: its writes and the device's answers both paced. */
function pacedLine(port: SerialPort, latencyMs: number): { io: Duplex; close: () => void } {
  const toDevice = new PacedDirection((b) => port.write(b), latencyMs);
  const io = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) { toDevice.send(chunk); cb(); },
  });
  const toHost = new PacedDirection((b) => io.push(b), latencyMs);
  const onData = (d: Buffer) => toHost.send(d);
  port.on('data', onData);
  return { io, close: () => port.off('data', onData) };
}

/** Bytes the blocks put on the line (a D line and its newline each), to say how busy the line was. */
async function wireBytes(file: string): Promise<number> {
  const bytes = await fs.readFile(file);
  let total = 0;
  for (let seq = 0; seq * BLOCK_BYTES < bytes.length; seq++) total += encodeBlock(seq, bytes.subarray(seq * BLOCK_BYTES, (seq + 1) * BLOCK_BYTES)).length + 1;
  return total;
}

interface Run {
  window: number;
  latencyMs: number;
  blocksSeconds: number;
  totalSeconds: number;
  retransmits: number;
}

async function pushOnce(dir: string, bundle: string, window: number, latencyMs: number, server: (port: SerialPort) => ConsoleServer): Promise<Run> {
  const pty = await ptyPair(await fs.mkdtemp(path.join(dir, 'pty-')));
  const console_ = server(pty.device);
  console_.start();
  const line = pacedLine(pty.host, latencyMs);
  const size = (await fs.stat(bundle)).size;
  const started = performance.now();
  let blocksDone = 0;
  try {
    const r = await pushBundle(line.io, bundle, {
      window, noActivate: true, ackTimeoutMs: 30_000,
      onProgress: (p) => { if (p.sent === size && blocksDone === 0) blocksDone = performance.now(); },
    });
    return { window, latencyMs, blocksSeconds: (blocksDone - started) / 1000, totalSeconds: (performance.now() - started) / 1000, retransmits: r.retransmits };
  } finally {
    line.close();
    await console_.stop();
    await pty.close();
  }
}

export async function runSerialBench(): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-serial-bench-'));
  try {
    const sim = await createSimAppliance(path.join(root, 'sim'), { slotSize: 1024 * 1024, imageSize: 256 * 1024 });
    const engine = await createEngine(sim.configPath);
    const bundle = sim.bundles[0];
    const size = (await fs.stat(bundle)).size;
    const wire = await wireBytes(bundle);
    console.log(`\nserial push: ${(size / 1024).toFixed(0)} KiB bundle (${(wire / 1024).toFixed(0)} KiB of D lines) over a pty pair paced to ${BYTES_PER_SECOND} B/s (115200 baud 8N1); ${machineLine()}`);
    console.log('window  latency  blocks s  payload KiB/s  line busy  total s (with verify)  resent');
    try {
      for (const latencyMs of [0, 16]) {
        for (const window of [1, 4, 8]) {
          const r = await pushOnce(root, bundle, window, latencyMs, (port) => new ConsoleServer(engine, port));
          console.log([String(window).padStart(6), `${latencyMs} ms`.padStart(7), r.blocksSeconds.toFixed(1).padStart(9),
            (size / 1024 / r.blocksSeconds).toFixed(2).padStart(13), `${((wire / r.blocksSeconds / BYTES_PER_SECOND) * 100).toFixed(0)}%`.padStart(10),
            r.totalSeconds.toFixed(1).padStart(22), String(r.retransmits).padStart(7)].join('  '));
        }
      }
    } finally {
      await engine.close();
    }
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runSerialBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
