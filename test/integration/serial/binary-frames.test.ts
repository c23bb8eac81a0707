// Binary block frames over a real pty pair (socat): raw bytes pass untouched, damaged frames are resent, old devices get base64.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import type { SerialPort } from 'serialport';
import { BINARY_BLOCK_BYTES, MAX_FRAME_BYTES, encodeFrame } from '../../../engine/transports/serial/binary-frame';
import { cobsDecode } from '../../../engine/transports/serial/cobs';
import { ConsoleServer } from '../../../engine/transports/serial/console-server';
import { LineReader, pushBundle } from '../../../engine/transports/serial/push-client';
import { simFixture, slotBytes, type SimFixture } from '../../helpers/sim-fixture';
import { tempDir } from '../../helpers/bundle-fixtures';
import { isAbuError } from '../../../engine/core/errors';
import { haveSocat, simOnPty, type PtyPair, type SimOnPty } from './pty-pair';

type Damage = 'flip' | 'lose-bytes' | 'drop' | 'lose-closing-zero' | 'split-by-zero' | 'too-long';

/**
 * Passes the host's writes to the port (the block sender writes one frame per write), damaging the first send of
 * the frames named, as a noisy line would: a flipped byte, 40 bytes lost mid-frame, the whole frame lost, its closing
 * 0x00 lost (the frame after it is then lost too), a 0x00 appearing mid-frame, garbage making it overlong.
 */
function damageFrames(port: SerialPort, plan: Map<number, Damage>): Duplex {
  const wrapper = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      const isFrame = Buffer.isBuffer(chunk) && chunk[0] === 0 && chunk.length > 8;
      const seq = isFrame ? cobsDecode(chunk.subarray(1, -1)).readUInt32BE(0) : -1;
      const how = plan.get(seq);
      plan.delete(seq);
      const mid = chunk.length >> 1;
      let out: Buffer | string = chunk;
      if (how === 'drop') return cb();
      if (how === 'flip') (out = Buffer.from(chunk))[mid] ^= 0x5a;
      if (how === 'lose-bytes') out = Buffer.concat([chunk.subarray(0, mid), chunk.subarray(mid + 40)]);
      if (how === 'lose-closing-zero') out = chunk.subarray(0, -1);
      if (how === 'split-by-zero') (out = Buffer.from(chunk))[mid] = 0;
      if (how === 'too-long') out = Buffer.concat([chunk.subarray(0, -1), Buffer.alloc(MAX_FRAME_BYTES, 0x55), Buffer.of(0)]);
      port.write(out, cb);
    },
  });
  port.on('data', (d: Buffer) => wrapper.push(d));
  return wrapper;
}

describe('binary block frames over a pty pair', function () {
  this.timeout(30_000);
  let fx: SimFixture;
  let pty: PtyPair;
  let server: ConsoleServer | null = null;
  let setup: SimOnPty | null = null;

  beforeEach(async function () {
    if (!haveSocat()) this.skip(); // the pty pair needs socat (apt-get install socat; CI has it)
    setup = await simOnPty();
    ({ fx, pty } = setup);
  });

  afterEach(async function () {
    await server?.stop();
    server = null;
    await setup?.close();
    setup = null;
  });

  it('both ends are raw: every byte value, XON/XOFF, ^C and CR included, passes the pty untouched', async () => {
    const all = Buffer.from(Array.from({ length: 4 * 256 }, (_, i) => [0x11, 0x13, 0x03, 0x0d, 0x0a, 0x7f, 0x1a, 0x1c][i % 8] ^ (i >> 3 & 0xff)));
    const got: Buffer[] = [];
    const arrived = new Promise<void>((resolve) => pty.device.on('data', (b: Buffer) => { got.push(b); if (Buffer.concat(got).length >= all.length) resolve(); }));
    pty.host.write(all);
    await arrived;
    assert.deepEqual(Buffer.concat(got), all);
  });

  it('pushes with binary frames through flipped bytes, lost bytes, lost frames and lost delimiters: an identical, verified image', async () => {
    server = new ConsoleServer(fx.engine, pty.device);
    server.start();
    const blocks = Math.ceil((await fs.stat(fx.sim.bundles[0])).size / BINARY_BLOCK_BYTES);
    assert.ok(blocks > 60, `${blocks} frames`);
    const plan = new Map<number, Damage>([[3, 'flip'], [5, 'lose-bytes'], [9, 'drop'], [14, 'lose-closing-zero'], [22, 'split-by-zero'], [30, 'too-long'], [31, 'flip'], [40, 'drop'], [41, 'drop']]);
    // An ack timeout longer than the test's: only the device's NAKs (damaged, missing) can bring a block back.
    const result = await pushBundle(damageFrames(pty.host, plan), fx.sim.bundles[0], { ackTimeoutMs: 60_000, window: 8 });
    assert.equal(result.frames, 'binary');
    assert.equal(plan.size, 0, 'every damage was applied');
    // Each damaged frame once more; for 14, whose closing 0x00 was lost, frame 15 (read as noise), not 14 (closed by 15's opening 0x00).
    assert.equal(result.retransmits, 9);
    assert.ok(result.lines.some((l) => l.startsWith('installed 1.1.0 into slot B')), result.lines.join('\n'));
    const status = await fx.engine.status();
    assert.equal(status.slots.find((v) => v.name === 'B')?.version, '1.1.0');
    // The engine verified every chunk's SHA-256 and read back what it wrote; the slot also holds the release's bytes.
    const image = await fs.readFile(path.join(fx.sim.dir, 'images', 'rootfs-1.1.0.img'));
    assert.ok((await slotBytes(fx.sim, 'B', image.length)).equals(image));
  });

  it('falls back to base64 D lines with the window for a device that refuses frames=binary', async () => {
    // The previous round's device, whose code is not in this tree: the real console behind a filter that answers
    // `frames=` as that device did (ABU_ERR_USAGE from its install words) and passes everything else through.
    const toServer = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const text = chunk.toString('latin1');
        if (/^\n?install .* frames=binary( ranges)?\n$/.test(text)) pty.device.write('ERR ABU_ERR_USAGE install takes SIZE SHA256HEX [accept-irreversible] [no-activate], not "frames=binary"\r\nabu> ');
        else this.push(chunk);
        cb();
      },
    });
    const asked: string[] = [];
    pty.device.on('data', (d: Buffer) => { if (d.includes('install ')) asked.push(d.toString('latin1').trim()); toServer.write(d); });
    const io = Duplex.from({ readable: toServer, writable: pty.device });
    io.on('error', () => undefined); // the composed stream reports the port's close at the end of the test
    server = new ConsoleServer(fx.engine, io);
    server.start();
    const result = await pushBundle(pty.host, fx.sim.bundles[0], { window: 8 });
    assert.deepEqual([result.frames, result.window], ['base64', 8]);
    assert.match(asked[0], / window=8 frames=binary ranges$/);
    assert.match(asked[1], / window=8 frames=binary$/);
    assert.match(asked[2], /[0-9a-f] window=8$/);
    assert.equal((await fx.engine.status()).slots.find((v) => v.name === 'B')?.version, '1.1.0');
  });
});

describe('a binary upload that ends early, over a PassThrough pair', function () {
  this.timeout(20_000);

  it('answers a frame still arriving after the upload failed once, as a late block, and then reads commands again', async () => {
    const fx = await simFixture();
    const toDevice = new PassThrough();
    const fromDevice = new PassThrough();
    const server = new ConsoleServer(fx.engine, Duplex.from({ readable: toDevice, writable: fromDevice }));
    const reader = new LineReader(fromDevice);
    server.start();
    try {
      toDevice.write(`install 100 ${'ab'.repeat(32)} window=4 frames=binary\n`);
      assert.equal(await reader.next(5000), `READY ${BINARY_BLOCK_BYTES} 4 binary`);
      // The engine's PROGRESS lines may come before the answer.
      const answer = async () => { let l = await reader.next(5000); while (l.startsWith('PROGRESS ')) l = await reader.next(5000); return l; };
      toDevice.write(encodeFrame(0, Buffer.alloc(200, 0x0a)));
      assert.match(await answer(), /^ERR ABU_ERR_SERIAL_BLOCK .*past the announced 100 bytes/);
      // Frame 1 was on the wire when the device gave up: one answer for the whole frame, not one per 0x0a inside it.
      toDevice.write(encodeFrame(1, Buffer.alloc(200, 0x0a)));
      assert.match(await answer(), /^ERR ABU_ERR_SERIAL_BLOCK no upload is running: a late binary frame/);
      toDevice.write('status\n');
      const status: string[] = [];
      for (let l = await answer(); l !== 'OK'; l = await answer()) status.push(l);
      assert.ok(status.includes('booted A'), status.join('\n'));
      // The text line ended frame splitting: a 0x00 is garbage in a command line again.
      toDevice.write(Buffer.from([0x73, 0, 0x0a]));
      assert.match(await answer(), /^ERR ABU_ERR_SERIAL_GARBAGE /);
    } finally {
      await server.stop();
      reader.close();
      await fx.cleanup();
    }
  });
});

describe('a device that grants other block sizes', () => {
  it('is refused before any block is sent, naming the size it asked for', async () => {
    // A mock device (no such abu exists yet): it grants binary frames of 8 KiB; this host sends 4 KiB frames.
    const toDevice = new PassThrough();
    const fromDevice = new PassThrough();
    const sent: Buffer[] = [];
    toDevice.on('data', (b: Buffer) => {
      sent.push(b);
      if (b.includes('install ')) fromDevice.write('READY 8192 8 binary\r\n');
    });
    const { dir, cleanup } = await tempDir('abu-bigblock-');
    try {
      const file = path.join(dir, 'bundle');
      await fs.writeFile(file, Buffer.alloc(3 * BINARY_BLOCK_BYTES, 7));
      await assert.rejects(pushBundle(Duplex.from({ readable: fromDevice, writable: toDevice }), file), (e) => isAbuError(e, 'ABU_ERR_SERIAL_BLOCK') && /8192-byte blocks/.test(e.message));
      assert.equal(Buffer.concat(sent).includes(0), false, 'no frame was sent');
    } finally {
      await cleanup();
    }
  });
});
