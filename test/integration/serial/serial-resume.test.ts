// Resumed serial pushes over a real pty pair (socat): a push cut at 90 % and pushed again sends only what the device lacks.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import { createBundle } from '../../../engine/bundle/bundle-writer';
import { ConsoleServer } from '../../../engine/transports/serial/console-server';
import { LineReader, pushBundle } from '../../../engine/transports/serial/push-client';
import { imageBytes, tempDir } from '../../helpers/bundle-fixtures';
import { simFixture, slotBytes, type SimFixture } from '../../helpers/sim-fixture';
import { meteredLine, type Damage } from './metered-line';
import { haveSocat, ptyPair, type PtyPair } from './pty-pair';

const MIB = 1024 * 1024;
/** 3 MiB in 64 KiB chunks: 48 chunks, so a cut at 90 % leaves about 5 of them (~10 %) to send again. */
const IMAGE_BYTES = 3 * MIB;
/** The device gives up on a silent host after this (a cut line); short, so the test does not wait a minute. */
const IDLE_MS = 3000;

describe('resumed serial pushes with ranges over a pty pair', function () {
  this.timeout(60_000);
  let fx: SimFixture;
  let pty: PtyPair;
  let dir: string;
  let server: ConsoleServer | null = null;
  let cleanups: (() => Promise<void>)[] = [];

  beforeEach(async function () {
    if (!haveSocat()) this.skip(); // the pty pair needs socat (apt-get install socat; CI has it)
    fx = await simFixture({ imageSize: MIB });
    const t = await tempDir('abu-resume-');
    dir = t.dir;
    pty = await ptyPair(dir);
    cleanups = [() => pty.close(), () => fx.cleanup(), () => t.cleanup()];
  });

  afterEach(async () => {
    await server?.stop();
    server = null;
    for (const c of cleanups) await c();
    cleanups = [];
  });

  /** A 1.1.0 bundle (follows the factory 1.0.0) of `image`, in 64 KiB chunks, signed with the appliance's key. */
  async function bundleOf(name: string, image: Buffer): Promise<string> {
    const imagePath = path.join(dir, `${name}.img`);
    await fs.writeFile(imagePath, image);
    const out = path.join(dir, `${name}.abu`);
    const key = createPrivateKey(await fs.readFile(fx.sim.privateKeyPath));
    await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: imagePath }], product: 'abu-demo-appliance', version: '1.1.0',
      source: { exact: '1.0.0' }, buildTime: 1_700_000_000, chunkSize: 64 * 1024, keys: [key] }, out);
    return out;
  }

  function startConsole(io: Duplex = pty.device): void {
    server = new ConsoleServer(fx.engine, io, { idleTimeoutMs: IDLE_MS });
    server.start();
  }

  /** Pushes `file` until 90 % of its size went on the wire, then cuts the line; resolves once the device gave up on it. */
  async function pushCutAt90(file: string): Promise<void> {
    const size = (await fs.stat(file)).size;
    const deviceLines = new LineReader(pty.host);
    const line = meteredLine(pty.host, { cutAt: Math.floor(size * 0.9) });
    try {
      await assert.rejects(pushBundle(line.io, file, { window: 8, noActivate: true }), /the line was cut/);
      let l = '';
      while (!l.startsWith('ERR ')) l = await deviceLines.next(30_000);
      assert.match(l, /^ERR ABU_ERR_SERIAL_TIMEOUT /, 'the device gave up on the silent line');
    } finally {
      line.close();
      deviceLines.close();
    }
    const b = (await fx.engine.status()).slots.find((s) => s.name === 'B');
    assert.equal(b?.image, 'incomplete', 'the cut push left slot B incomplete');
  }

  /** Pushes `file` in full (no cut) on a metered line; the bytes the pusher wrote, and its result. */
  async function meteredPush(file: string, damage?: Map<number, Damage>) {
    const line = meteredLine(pty.host, { damage });
    try {
      const result = await pushBundle(line.io, file, { window: 8, noActivate: true, ackTimeoutMs: 60_000 });
      return { result, wire: line.written() };
    } finally {
      line.close();
    }
  }

  async function assertSlotB(image: Buffer): Promise<void> {
    const b = (await fx.engine.status()).slots.find((s) => s.name === 'B');
    assert.deepEqual([b?.version, b?.image], ['1.1.0', 'verified']);
    assert.ok((await slotBytes(fx.sim, 'B', image.length)).equals(image), 'slot B holds the image byte for byte');
  }

  it('a push cut at 90 % and pushed again sends at most 15 % of the bundle, and the slot holds the image, verified', async () => {
    startConsole();
    const image = imageBytes(IMAGE_BYTES, 'resume');
    const file = await bundleOf('x', image);
    const size = (await fs.stat(file)).size;
    await pushCutAt90(file);
    const { result, wire } = await meteredPush(file);
    assert.equal(result.ranges, true);
    assert.ok(wire <= 0.15 * size, `the resumed push wrote ${wire} bytes on the line for a ${size}-byte bundle (${((wire / size) * 100).toFixed(1)} %)`);
    assert.ok(result.lines.some((l) => /^transfer: \d+ bytes fetched, 0 copied from the booted slot, [1-9]\d* already in slot B$/.test(l)), result.lines.join('\n'));
    await assertSlotB(image);
    console.log(`      resumed push: ${wire} of ${size} bytes on the line (${((wire / size) * 100).toFixed(1)} %)`);
    // Pushed once more: the slot holds every chunk, so only the head (header, manifest, signatures) crosses.
    const again = await meteredPush(file);
    assert.ok(again.wire < 16 * 1024, `${again.wire} bytes on the line for a push of what the slot already holds`);
    await assertSlotB(image);
  });

  it('a different bundle pushed after a cut fetches the chunks it does not share with what the slot holds', async () => {
    startConsole();
    const first = imageBytes(IMAGE_BYTES, 'resume');
    // The same first half, another second half: the slot keeps the shared chunks, the rest must cross.
    const other = Buffer.concat([first.subarray(0, IMAGE_BYTES / 2), imageBytes(IMAGE_BYTES / 2, 'other')]);
    const fileX = await bundleOf('x', first);
    const fileY = await bundleOf('y', other);
    const size = (await fs.stat(fileY)).size;
    await pushCutAt90(fileX);
    const { result, wire } = await meteredPush(fileY);
    assert.equal(result.ranges, true);
    assert.ok(wire >= 0.5 * IMAGE_BYTES && wire <= 0.6 * size, `${wire} bytes on the line for a ${size}-byte bundle whose second half (${IMAGE_BYTES / 2} bytes) is new`);
    await assertSlotB(other);
  });

  it('a device from before ranges refuses the word and gets the whole bundle, as before', async () => {
    // The previous round's device, whose code is not in this tree: the real console behind a filter that answers
    // `ranges` as that device did (ABU_ERR_USAGE from its install words) and passes everything else through.
    const asked: string[] = [];
    const toServer = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        const text = chunk.toString('latin1');
        if (text.includes('install ')) asked.push(text.trim());
        if (/^\n?install .* ranges\n$/.test(text)) pty.device.write('ERR ABU_ERR_USAGE install takes SIZE SHA256HEX [accept-irreversible] [no-activate], not "ranges"\r\nabu> ');
        else this.push(chunk);
        cb();
      },
    });
    pty.device.on('data', (d: Buffer) => toServer.write(d));
    const io = Duplex.from({ readable: toServer, writable: pty.device });
    io.on('error', () => undefined); // the composed stream reports the port's close at the end of the test
    startConsole(io);
    const image = imageBytes(MIB, 'resume');
    const file = await bundleOf('x', image);
    const { result, wire } = await meteredPush(file);
    assert.deepEqual([result.ranges, result.frames, result.bytes, result.size], [false, 'binary', result.size, result.size]);
    assert.match(asked[0], / frames=binary ranges$/);
    assert.match(asked[1], / frames=binary$/);
    assert.ok(wire >= result.size);
    await assertSlotB(image);
  });

  it('--no-adaptive offers no ranges: every byte crosses and every chunk is written', async () => {
    startConsole();
    const image = imageBytes(MIB, 'resume');
    const file = await bundleOf('x', image);
    const line = meteredLine(pty.host);
    try {
      const result = await pushBundle(line.io, file, { window: 8, noActivate: true, ranges: false });
      assert.deepEqual([result.ranges, result.bytes], [false, result.size]);
      assert.ok(line.written() >= result.size);
      // The device took `no-adaptive`: a full install reports no transfer (nothing kept, nothing copied).
      assert.ok(!result.lines.some((l) => l.startsWith('transfer:')), result.lines.join('\n'));
      assert.ok(result.lines.some((l) => l.startsWith('installed 1.1.0 into slot B')), result.lines.join('\n'));
    } finally {
      line.close();
    }
    await assertSlotB(image);
  });

  it('a damaged or lost block of a range is sent again, and the install verifies', async () => {
    startConsole();
    const image = imageBytes(MIB, 'resume');
    const file = await bundleOf('x', image);
    // Blocks 0 and 1 answer the two GETs of the head; 2 on are the chunks' range.
    const damage = new Map<number, Damage>([[1, 'flip'], [3, 'flip'], [6, 'drop'], [40, 'flip']]);
    const { result } = await meteredPush(file, damage);
    assert.equal(result.ranges, true);
    assert.equal(damage.size, 0, 'every damage was applied');
    // An ack timeout longer than the test's: only the device's NAKs (damaged, missing) brought the blocks back.
    assert.equal(result.retransmits, 4);
    await assertSlotB(image);
  });
});
