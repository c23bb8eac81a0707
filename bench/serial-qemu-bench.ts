// Serial push through QEMU's emulated 16550: one U-Boot guest, abu console on its ttyS1, a ~320 KiB bundle pushed from the host.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { qemuAvailable } from '../harness/qemu';
import { buildImages, type ImageSet } from '../images/image-set';
import { pushBundle } from '../engine/transports/serial/push-client';
import { Appliance } from '../test/system/appliance';
import { BYTES_PER_SECOND, pacedLine } from './paced-line';
import { machineLine } from './process-run';

const REPO = path.resolve(__dirname, '..', '..');
const IMAGE_BYTES = 320 * 1024;
/** Bytes sent raw to the guest's ttyS1 to see whether QEMU delivers them at the baud rate. */
const RAW_BYTES = 128 * 1024;

/** A signed bundle of an incompressible 320 KiB image: small enough for a serial line, installed with no-activate. */
function smallBundle(images: ImageSet, dir: string): string {
  const image = path.join(dir, 'small-rootfs.img');
  fs.writeFileSync(image, randomBytes(IMAGE_BYTES));
  const out = path.join(dir, 'small.abu');
  execFileSync(process.execPath, [path.join(REPO, 'bin', 'abu'), 'bundle', 'create', '--product', images.manifest.product,
    '--version', '1.1.0', '--predecessor', '1.0.0', '--description', 'serial bench', '--build-time', '1700000000',
    '--key', path.join(images.dir, images.manifest.signingKey), '--image', `rootfs:rootfs:${image}`, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}

/** Writes RAW_BYTES to the guest's ttyS1 while the guest reads them with head; seconds from the write to the count. */
async function rawReceive(app: Appliance, sock: string): Promise<{ seconds: number; bytes: number }> {
  const con = app.running().console;
  con.skipSeen();
  con.write(`stty -F /dev/ttyS1 115200 raw -echo && echo OPENED && echo "RAW $(head -c ${RAW_BYTES} /dev/ttyS1 | wc -c)"\n`);
  await con.waitForLine(/^OPENED$/, 60_000);
  await new Promise((r) => setTimeout(r, 2000)); // head opens the tty right after the echo
  const socket = await connect(sock);
  const started = performance.now();
  socket.write(Buffer.alloc(RAW_BYTES, 0x55));
  const m = await con.waitForLine(/^RAW (\d+)$/, 300_000);
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  return { seconds, bytes: Number(m[1]) };
}

function connect(sock: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock, () => resolve(s));
    s.once('error', reject);
  });
}

/** Starts `abu console` on ttyS1 in the background of the guest's shell and waits until it serves. */
async function startGuestConsole(app: Appliance): Promise<void> {
  const con = app.running().console;
  await con.run('abu console --device /dev/ttyS1 --baud 115200 --direct > /tmp/abu-console.log 2>&1 & true', 60_000);
  const end = Date.now() + 120_000;
  while (Date.now() < end) {
    const { output } = await con.run('cat /tmp/abu-console.log', 60_000);
    if (/serving on/.test(output)) return;
    if (/Error|ERR/.test(output)) throw new Error(`abu console failed in the guest: ${output}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error('abu console did not start in the guest within 120 s');
}

interface Row { line: string; frames: string; window: number; seconds: number; blocksSeconds: number; retransmits: number }

async function push(sock: string, bundle: string, frames: 'base64' | 'binary', window: number, paced: boolean): Promise<Row> {
  const socket = await connect(sock);
  const line = paced ? pacedLine(socket, 0) : null;
  const io: Duplex = line ? line.io : socket;
  const size = fs.statSync(bundle).size;
  const started = performance.now();
  let blocksDone = 0;
  try {
    const r = await pushBundle(io, bundle, {
      // Whole pushes: these rows measure the line, every byte crossing (a ranged push skips the head's padding).
      frames, window, noActivate: true, ackTimeoutMs: 30_000, finishTimeoutMs: 300_000, ranges: false,
      onProgress: (p) => { if (p.sent === size && blocksDone === 0) blocksDone = performance.now(); },
    });
    if (!r.lines.some((l) => l.startsWith('installed '))) throw new Error(`no install reported: ${r.lines.join(' | ')}`);
    return { line: paced ? 'paced 115200' : 'unpaced', frames: r.frames, window: r.window, seconds: r.seconds, blocksSeconds: (blocksDone - started) / 1000, retransmits: r.retransmits };
  } finally {
    line?.close();
    socket.destroy();
  }
}

export async function runSerialQemuBench(): Promise<void> {
  const missing = qemuAvailable();
  if (missing !== null) throw new Error(`serial-qemu needs QEMU: ${missing}`);
  const images = buildImages();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abu-serial-qemu-'));
  const app = new Appliance(images, 'uboot', 'serial-qemu-bench');
  try {
    const bundle = smallBundle(images, dir);
    const size = fs.statSync(bundle).size;
    const sock = path.join(dir, 'ttyS1.sock');
    // A second 16550 (COM2, the guest's ttyS1) on a unix socket: wait=off, so the guest boots before the host connects.
    await app.boot('serial-bench', [], ['-chardev', `socket,id=ser1,path=${sock},server=on,wait=off`, '-serial', 'chardev:ser1']);
    await app.waitReady(180_000);
    const raw = await rawReceive(app, sock);
    console.log(`\nserial push through QEMU's 16550 (guest ttyS1 at 115200, host end a unix socket); ${(size / 1024).toFixed(0)} KiB bundle, no-activate; ${machineLine()}`);
    console.log(`raw: ${raw.bytes} bytes into the guest's ttyS1 in ${raw.seconds.toFixed(2)} s = ${(raw.bytes / 1024 / raw.seconds).toFixed(1)} KiB/s (115200 8N1 would take ${(raw.bytes / BYTES_PER_SECOND).toFixed(1)} s)`);
    await startGuestConsole(app);
    console.log('line          frames  window  blocks s  payload KiB/s  total s (with verify)  resent');
    for (const paced of [false, true]) {
      for (const frames of ['base64', 'binary'] as const) {
        const r = await push(sock, bundle, frames, 8, paced);
        console.log([r.line.padEnd(12), r.frames.padStart(6), String(r.window).padStart(6), r.blocksSeconds.toFixed(1).padStart(9),
          (size / 1024 / r.blocksSeconds).toFixed(2).padStart(13), r.seconds.toFixed(1).padStart(22), String(r.retransmits).padStart(7)].join('  '));
      }
    }
    const log = await app.running().console.run('cat /tmp/abu-console.log', 60_000);
    console.log(`guest console log:\n${log.output}`);
  } finally {
    await app.dispose(true);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runSerialQemuBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
