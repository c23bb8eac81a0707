// Ranged serial uploads without a tty: what the device grants, and the checks that stand in for the whole-bundle SHA-256.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { isAbuError } from '../../../engine/core/errors';
import { BLOCK_BYTES, encodeBlock } from '../../../engine/transports/serial/console-protocol';
import { pushBundle, type LineReader } from '../../../engine/transports/serial/push-client';
import { tempDir } from '../../helpers/bundle-fixtures';
import { simFixture, type SimFixture } from '../../helpers/sim-fixture';
import { passThroughConsole } from './passthrough-console';

describe('ranged serial uploads over a PassThrough pair', function () {
  this.timeout(30_000);
  let fx: SimFixture;
  let close: () => Promise<void>;
  let toDevice: PassThrough;
  let reader: LineReader;
  let bundle: Buffer;
  let sha: string;

  const send = (line: string) => toDevice.write(`${line}\n`);
  const next = () => reader.next(10_000);

  beforeEach(async () => {
    fx = await simFixture();
    bundle = await fs.readFile(fx.sim.bundles[0]);
    sha = createHash('sha256').update(bundle).digest('hex');
    ({ toDevice, reader, close } = passThroughConsole(fx.engine, { idleTimeoutMs: 5000 }));
  });

  afterEach(async () => {
    await close();
    await fx.cleanup();
  });

  /** A host that answers each GET with base64 D lines of `file`, numbered on from the last; the device's lines up to its final OK or ERR. */
  async function answerGets(file: Buffer): Promise<string[]> {
    const lines: string[] = [];
    let seq = 0;
    for (;;) {
      const l = await next();
      lines.push(l);
      if (l === 'OK' || l.startsWith('ERR ')) return lines;
      const m = /^GET (\d+) (\d+)$/.exec(l);
      if (!m) continue;
      const end = Number(m[1]) + Number(m[2]);
      for (let at = Number(m[1]); at < end; at += BLOCK_BYTES) send(encodeBlock(seq++, file.subarray(at, Math.min(at + BLOCK_BYTES, end))));
    }
  }

  async function slotB() {
    return (await fx.engine.status()).slots.find((s) => s.name === 'B');
  }

  it('grants ranges to an adaptive install only, and then asks for the header first', async () => {
    send(`install ${bundle.length} ${sha} window=4 ranges no-adaptive`);
    assert.equal(await next(), `READY ${BLOCK_BYTES} 4`, 'a full install takes the whole upload');
    send('cancel');
    assert.match((await answerGets(bundle)).at(-1)!, /^ERR ABU_ERR_CANCELLED /);
    send(`install ${bundle.length} ${sha} window=4 ranges`);
    assert.equal(await next(), `READY ${BLOCK_BYTES} 4 ranges`);
    assert.equal(await next(), 'GET 0 32');
    send('cancel');
    assert.match((await answerGets(bundle)).at(-1)!, /^ERR ABU_ERR_CANCELLED /);
  });

  it('installs from the ranges it asked for: the head, then the chunks, never the padding', async () => {
    send(`install ${bundle.length} ${sha} window=16 ranges`);
    assert.equal(await next(), `READY ${BLOCK_BYTES} 16 ranges`);
    const lines = await answerGets(bundle);
    assert.equal(lines.at(-1), 'OK', lines.filter((l) => !/^(OK|PROGRESS) /.test(l)).join('\n'));
    const gets = lines.filter((l) => l.startsWith('GET '));
    assert.equal(gets.length, 3, gets.join('\n'));
    assert.equal(gets[2], `GET 4096 ${bundle.length - 4096}`, 'the payload starts at 4 KiB; the head padding is not asked for');
    assert.deepEqual([(await slotB())?.version, (await slotB())?.image], ['1.1.0', 'verified']);
  });

  it('checks where the payload ends against the announced SIZE: a larger one fails with nothing verified', async () => {
    const padded = Buffer.concat([bundle, Buffer.alloc(4096)]);
    send(`install ${padded.length} ${createHash('sha256').update(padded).digest('hex')} window=16 ranges`);
    assert.equal(await next(), `READY ${BLOCK_BYTES} 16 ranges`);
    assert.match((await answerGets(padded)).at(-1)!, /^ERR ABU_ERR_BUNDLE_TRAILING /);
    assert.notEqual((await slotB())?.image, 'verified');
  });

  it('does not ask past a smaller announced SIZE', async () => {
    send(`install ${bundle.length - 4096} ${sha} window=16 ranges`);
    assert.equal(await next(), `READY ${BLOCK_BYTES} 16 ranges`);
    const lines = await answerGets(bundle);
    assert.match(lines.at(-1)!, /^ERR ABU_ERR_BUNDLE_TRUNCATED .*past the announced/);
    assert.ok(lines.filter((l) => l.startsWith('GET ')).every((l) => Number(l.split(' ')[1]) + Number(l.split(' ')[2]) <= bundle.length - 4096));
  });

  it('refuses a chunk whose bytes are not the signed ones, before it is written, and a block past the bytes asked for', async () => {
    const changed = Buffer.from(bundle);
    changed[bundle.length - 10] ^= 1; // the host's copy differs from the signed bundle in one byte of the last chunk
    send(`install ${bundle.length} ${sha} window=16 ranges`);
    assert.equal(await next(), `READY ${BLOCK_BYTES} 16 ranges`);
    assert.match((await answerGets(changed)).at(-1)!, /^ERR ABU_ERR_CHUNK_(CRC|DIGEST) /);
    assert.notEqual((await slotB())?.image, 'verified');
    send(`install ${bundle.length} ${sha} window=16 ranges`);
    assert.equal(await next(), `READY ${BLOCK_BYTES} 16 ranges`);
    assert.equal(await next(), 'GET 0 32');
    send(encodeBlock(0, bundle.subarray(0, 64)));
    let l = await next();
    while (!l.startsWith('ERR ')) l = await next();
    assert.match(l, /^ERR ABU_ERR_SERIAL_BLOCK .*past the 32 bytes asked for/);
  });
});

describe('console push to a device that asks for bytes the file does not have', () => {
  it('cancels the device install, waits for its answer and names the range', async () => {
    // A mock device (this bundle has no such device): it grants ranges, asks past the end, and answers cancel.
    const toDevice = new PassThrough();
    const fromDevice = new PassThrough();
    const seen: string[] = [];
    toDevice.on('data', (b: Buffer) => {
      // Raw bytes, not lines: the block the pusher sent for GET 0 32 is a binary frame in front of its cancel.
      const text = b.toString('latin1');
      if (text.includes('install ')) fromDevice.write('READY 4096 8 binary ranges\r\nGET 0 32\r\nGET 32 999999\r\n');
      if (text.includes('cancel\n')) {
        seen.push('cancel');
        fromDevice.write('ERR ABU_ERR_CANCELLED upload cancelled from the serial console; nothing was activated\r\n');
      }
    });
    const { dir, cleanup } = await tempDir('abu-rangepush-');
    try {
      const file = path.join(dir, 'bundle');
      await fs.writeFile(file, Buffer.alloc(5000, 7));
      await assert.rejects(pushBundle(Duplex.from({ readable: fromDevice, writable: toDevice }), file), (e) => isAbuError(e, 'ABU_ERR_SERIAL_BLOCK') && /bytes 32-1000030 of a 5000-byte bundle/.test(e.message));
      assert.deepEqual(seen, ['cancel']);
    } finally {
      await cleanup();
    }
  });
});
