// Serial push benchmark: a ~256 KiB bundle over a pty pair paced to 115200 baud, base64 D lines vs binary frames, window 1/8/16; then a resumed push (serial-resume-bench.ts).
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { SerialPort } from 'serialport';
import { createEngine } from '../engine/engine';
import { createSimAppliance } from '../engine/sim/create-sim-appliance';
import { BINARY_BLOCK_BYTES, encodeFrame } from '../engine/transports/serial/binary-frame';
import { BLOCK_BYTES, encodeBlock } from '../engine/transports/serial/console-protocol';
import { ConsoleServer } from '../engine/transports/serial/console-server';
import { pushBundle } from '../engine/transports/serial/push-client';
import { ptyPair } from '../test/integration/serial/pty-pair';
import { machineLine } from './process-run';
import { BYTES_PER_SECOND, pacedLine } from './paced-line';
import { runSerialResumeBench } from './serial-resume-bench';

type Frames = 'base64' | 'binary';

/** Bytes the blocks put on the line (D lines and their newlines, or frames with their delimiters), to say how busy the line was. */
async function wireBytes(file: string, frames: Frames): Promise<number> {
  const bytes = await fs.readFile(file);
  const block = frames === 'binary' ? BINARY_BLOCK_BYTES : BLOCK_BYTES;
  let total = 0;
  for (let seq = 0; seq * block < bytes.length; seq++) {
    const data = bytes.subarray(seq * block, (seq + 1) * block);
    total += frames === 'binary' ? encodeFrame(seq, data).length : encodeBlock(seq, data).length + 1;
  }
  return total;
}

interface Run {
  frames: Frames;
  window: number;
  latencyMs: number;
  blocksSeconds: number;
  totalSeconds: number;
  retransmits: number;
}

async function pushOnce(dir: string, bundle: string, frames: Frames, window: number, latencyMs: number, server: (port: SerialPort) => ConsoleServer): Promise<Run> {
  const pty = await ptyPair(await fs.mkdtemp(path.join(dir, 'pty-')));
  const console_ = server(pty.device);
  console_.start();
  const line = pacedLine(pty.host, latencyMs);
  const size = (await fs.stat(bundle)).size;
  const started = performance.now();
  let blocksDone = 0;
  try {
    const r = await pushBundle(line.io, bundle, {
      // These rows measure the line: every byte crosses, as before ranges (the resume rows measure ranges).
      window, frames, noActivate: true, ackTimeoutMs: 30_000, ranges: false,
      onProgress: (p) => { if (p.sent === size && blocksDone === 0) blocksDone = performance.now(); },
    });
    if (r.frames !== frames) throw new Error(`asked for ${frames} frames, the device granted ${r.frames}`);
    return { frames, window, latencyMs, blocksSeconds: (blocksDone - started) / 1000, totalSeconds: (performance.now() - started) / 1000, retransmits: r.retransmits };
  } finally {
    line.close();
    await console_.stop();
    await pty.close();
  }
}

/** `resumeOnly` (npm run bench serial-resume): only the resumed push's rows. */
export async function runSerialBench(o: { resumeOnly?: boolean } = {}): Promise<void> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-serial-bench-'));
  try {
    if (!o.resumeOnly) await runPushRows(root);
    await runSerialResumeBench(root);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

async function runPushRows(root: string): Promise<void> {
  const sim = await createSimAppliance(path.join(root, 'sim'), { slotSize: 1024 * 1024, imageSize: 256 * 1024 });
  const engine = await createEngine(sim.configPath);
  const bundle = sim.bundles[0];
  const size = (await fs.stat(bundle)).size;
  const wire = { base64: await wireBytes(bundle, 'base64'), binary: await wireBytes(bundle, 'binary') };
  console.log(`\nserial push: ${(size / 1024).toFixed(0)} KiB bundle (${(wire.base64 / 1024).toFixed(0)} KiB as D lines, ${(wire.binary / 1024).toFixed(1)} KiB as binary frames) over a pty pair paced to ${BYTES_PER_SECOND} B/s (115200 baud 8N1, ${(BYTES_PER_SECOND / 1024).toFixed(2)} KiB/s); ${machineLine()}`);
  console.log('frames  window  latency  blocks s  payload KiB/s  line busy  total s (with verify)  resent');
  try {
    for (const latencyMs of [0, 16]) {
      for (const frames of ['base64', 'binary'] as const) {
        for (const window of [1, 8, 16]) {
          const r = await pushOnce(root, bundle, frames, window, latencyMs, (port) => new ConsoleServer(engine, port));
          console.log([frames.padStart(6), String(window).padStart(6), `${latencyMs} ms`.padStart(7), r.blocksSeconds.toFixed(1).padStart(9),
            (size / 1024 / r.blocksSeconds).toFixed(2).padStart(13), `${((wire[frames] / r.blocksSeconds / BYTES_PER_SECOND) * 100).toFixed(0)}%`.padStart(10),
            r.totalSeconds.toFixed(1).padStart(22), String(r.retransmits).padStart(7)].join('  '));
        }
      }
    }
  } finally {
    await engine.close();
  }
}

if (require.main === module) {
  runSerialBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
