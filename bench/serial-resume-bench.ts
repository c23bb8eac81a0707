// Serial resume benchmark: a push cut at 90 % over a pty paced to 115200 baud, then pushed again with ranges: its time and bytes.
import { createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createBundle } from '../engine/bundle/bundle-writer';
import { createEngine, type AbuEngine } from '../engine/engine';
import { createSimAppliance, type SimAppliance } from '../engine/sim/create-sim-appliance';
import { ConsoleServer } from '../engine/transports/serial/console-server';
import { LineReader, pushBundle } from '../engine/transports/serial/push-client';
import { imageBytes } from '../test/helpers/bundle-fixtures';
import { meteredLine } from '../test/integration/serial/metered-line';
import { ptyPair, type PtyPair } from '../test/integration/serial/pty-pair';
import { BYTES_PER_SECOND, pacedLine } from './paced-line';

const KIB = 1024;
/** 1 MiB in 64 KiB chunks (16): ~90 s of line for the whole bundle. */
const IMAGE_BYTES = 1024 * KIB;
const CHUNK_BYTES = 64 * KIB;

async function resumeBundle(sim: SimAppliance, dir: string): Promise<string> {
  const image = path.join(dir, 'resume.img');
  await fs.writeFile(image, imageBytes(IMAGE_BYTES, 'serial-resume'));
  const out = path.join(dir, 'resume.abu');
  await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: image }], product: 'abu-demo-appliance', version: '1.1.0', source: { exact: '1.0.0' },
    buildTime: 1_700_000_000, chunkSize: CHUNK_BYTES, keys: [createPrivateKey(await fs.readFile(sim.privateKeyPath))] }, out);
  return out;
}

/** One push on a paced line (cut after `cutAt` bytes when given): seconds, bytes the pusher put on the line, bundle bytes sent. */
async function pacedPush(pty: PtyPair, bundle: string, cutAt?: number): Promise<{ seconds: number; wire: number; sent: number }> {
  const paced = pacedLine(pty.host, 0);
  const line = meteredLine(paced.io, { cutAt });
  const started = performance.now();
  try {
    const r = await pushBundle(line.io, bundle, { window: 8, noActivate: true, ackTimeoutMs: 30_000 }).catch((e: Error) => {
      if (cutAt === undefined) throw e;
      return null;
    });
    return { seconds: (performance.now() - started) / 1000, wire: line.written(), sent: r?.bytes ?? line.written() };
  } finally {
    line.close();
    paced.close();
  }
}

async function runRows(engine: AbuEngine, sim: SimAppliance, dir: string): Promise<void> {
  const bundle = await resumeBundle(sim, dir);
  const size = (await fs.stat(bundle)).size;
  const pty = await ptyPair(await fs.mkdtemp(path.join(dir, 'pty-')));
  const server = new ConsoleServer(engine, pty.device, { idleTimeoutMs: 3000 });
  server.start();
  try {
    const deviceLines = new LineReader(pty.host);
    const cut = await pacedPush(pty, bundle, Math.floor(size * 0.9));
    for (let l = ''; !l.startsWith('ERR ');) l = await deviceLines.next(60_000); // the device gave up on the cut line
    deviceLines.close();
    const resumed = await pacedPush(pty, bundle);
    const status = await engine.status();
    const b = status.slots.find((s) => s.name === 'B');
    console.log(`\nserial resume: ${(size / KIB).toFixed(0)} KiB bundle (${IMAGE_BYTES / CHUNK_BYTES} chunks of ${CHUNK_BYTES / KIB} KiB), binary frames, window 8, paced to ${BYTES_PER_SECOND} B/s`);
    console.log('push                      s   line bytes  of bundle');
    console.log(`cut at 90 %         ${cut.seconds.toFixed(1).padStart(7)}  ${String(cut.wire).padStart(11)}  ${((cut.wire / size) * 100).toFixed(1).padStart(8)} %`);
    console.log(`resumed (ranges)    ${resumed.seconds.toFixed(1).padStart(7)}  ${String(resumed.wire).padStart(11)}  ${((resumed.wire / size) * 100).toFixed(1).padStart(8)} %   slot B ${b?.version} ${b?.image}`);
    console.log(`a whole push at the cut push's rate: ${((cut.seconds * size) / cut.wire).toFixed(1)} s`);
  } finally {
    await server.stop();
    await pty.close();
  }
}

export async function runSerialResumeBench(root: string): Promise<void> {
  const sim = await createSimAppliance(path.join(root, 'resume-sim'), { slotSize: 2 * 1024 * KIB, imageSize: 256 * KIB });
  const engine = await createEngine(sim.configPath);
  try {
    await runRows(engine, sim, root);
  } finally {
    await engine.close();
  }
}
