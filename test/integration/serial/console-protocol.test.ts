// The console protocol without a tty: the line splitter and block codec, and the server over a PassThrough pair.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import { AbuError } from '../../../engine/core/errors';
import { ConsoleServer } from '../../../engine/transports/serial/console-server';
import { BLOCK_BYTES, MAX_WINDOW, PROMPT, LineSplitter, decodeBlock, echoBytes, encodeBlock, parseCommand, parseInstallArgs } from '../../../engine/transports/serial/console-protocol';
import { LineReader, pushBundle } from '../../../engine/transports/serial/push-client';
import { PushProgressLine } from '../../../engine/transports/serial/push-progress';
import { FileSource } from '../../../engine/sources/file-source';
import { simFixture, type SimFixture } from '../../helpers/sim-fixture';
import { tempDir } from '../../helpers/bundle-fixtures';
import { passThroughConsole } from './passthrough-console';

describe('serial console protocol', () => {
  it('splits lines across chunks, drops a CR before LF and keeps a partial line', () => {
    const s = new LineSplitter(16);
    assert.deepEqual(s.push(Buffer.from('sta')), []);
    assert.deepEqual(s.push(Buffer.from('tus\r\nhis')), [{ line: 'status' }]);
    assert.deepEqual(s.push(Buffer.from('tory 3\n')), [{ line: 'history 3' }]);
  });

  it('ends lines at CR as terminals send on Enter, and counts a CRLF split across chunks once', () => {
    const s = new LineSplitter(16);
    assert.deepEqual(s.push(Buffer.from('status\rhelp\r')), [{ line: 'status' }, { line: 'help' }]);
    assert.deepEqual(s.push(Buffer.from('\nreboot\n')), [{ line: 'reboot' }]);
  });

  it('lets an operator rub out typing with DEL or BS only when editing is on', () => {
    assert.deepEqual(new LineSplitter(64, true).push(Buffer.from('stax\x7ft\x08tus\r')), [{ line: 'status' }]);
    const [plain] = new LineSplitter(64).push(Buffer.from('stax\x7ftus\n'));
    assert.ok('error' in plain && plain.error.code === 'ABU_ERR_SERIAL_GARBAGE');
    assert.equal(echoBytes(Buffer.from('ab\x7f\x1b\r\n')), 'ab\b \b\r\n');
  });

  it('discards an over-long line once, then reads the next line normally', () => {
    const s = new LineSplitter(16);
    const out = s.push(Buffer.from(`${'y'.repeat(40)}\nstatus\n`));
    assert.equal(out.length, 2);
    assert.ok('error' in out[0] && out[0].error.code === 'ABU_ERR_SERIAL_LINE_TOO_LONG');
    assert.deepEqual(out[1], { line: 'status' });
  });

  it('refuses control characters and bytes above 0x7e', () => {
    for (const bad of [[0x73, 0x00], [0x1b, 0x5b, 0x41], [0xc3, 0xa9]]) {
      const [item] = new LineSplitter().push(Buffer.from([...bad, 0x0a]));
      assert.ok('error' in item && item.error.code === 'ABU_ERR_SERIAL_GARBAGE', JSON.stringify(bad));
    }
  });

  it('parses commands with their argument counts', () => {
    assert.deepEqual(parseCommand('  activate   other '), { verb: 'activate', args: ['other'] });
    assert.equal(parseCommand('   '), null);
    assert.deepEqual(parseCommand('activate'), { verb: 'activate', args: [] });
    assert.throws(() => parseCommand('activate other accept-irreversible now'), (e) => e instanceof AbuError && e.code === 'ABU_ERR_USAGE');
    assert.throws(() => parseCommand('rm -rf /'), (e) => e instanceof AbuError && e.code === 'ABU_ERR_USAGE');
    // A block or END of an upload that already ended: its own code, so the next push skips it instead of failing.
    assert.throws(() => parseCommand(encodeBlock(7, Buffer.from('late'))), (e) => e instanceof AbuError && e.code === 'ABU_ERR_SERIAL_BLOCK');
    assert.throws(() => parseCommand('END'), (e) => e instanceof AbuError && e.code === 'ABU_ERR_SERIAL_BLOCK');
    assert.deepEqual(parseInstallArgs(['12', 'AB'.repeat(32)]), { size: 12, sha256: 'ab'.repeat(32) });
    assert.throws(() => parseInstallArgs(['0', 'ab'.repeat(32)]), /positive byte count/);
    assert.throws(() => parseInstallArgs(['12', 'xyz']), /64 hex digits/);
  });

  it('round-trips a block and catches a flipped character, an empty block and an oversized one', () => {
    const data = Buffer.from(Array.from({ length: BLOCK_BYTES }, (_, i) => i % 251));
    const line = encodeBlock(7, data);
    assert.deepEqual(decodeBlock(line), { seq: 7, data });
    const flipped = line.slice(0, 20) + (line[20] === 'A' ? 'B' : 'A') + line.slice(21);
    assert.throws(() => decodeBlock(flipped), (e) => e instanceof AbuError && e.details.reason === 'crc-mismatch' && e.details.seq === 7);
    assert.throws(() => decodeBlock(encodeBlock(1, Buffer.alloc(0))), (e) => e instanceof AbuError && e.details.reason === 'bad-length');
    assert.throws(() => decodeBlock(encodeBlock(1, Buffer.alloc(BLOCK_BYTES + 1))), (e) => e instanceof AbuError && e.details.reason === 'bad-length');
    assert.throws(() => decodeBlock('D x y z'), (e) => e instanceof AbuError && e.details.reason === 'malformed');
  });
});

describe('serial console server over a PassThrough pair', function () {
  this.timeout(20_000);
  let fx: SimFixture;
  let server: ConsoleServer;
  let toDevice: PassThrough;
  let reader: LineReader;
  let bundle: Buffer;
  let logs: string[];

  const send = (line: string) => toDevice.write(`${line}\n`);
  const next = () => reader.next(5000);
  async function answer(): Promise<string[]> {
    const lines: string[] = [];
    for (let l = await next(); ; l = await next()) {
      lines.push(l);
      if (l === 'OK' || l.startsWith('ERR ')) return lines;
    }
  }

  beforeEach(async () => {
    fx = await simFixture();
    bundle = await fs.readFile(fx.sim.bundles[0]);
    logs = [];
    ({ server, toDevice, reader } = passThroughConsole(fx.engine, { idleTimeoutMs: 300, log: (l) => logs.push(l) }));
  });

  afterEach(async () => {
    await server.stop();
    reader.close();
    await fx.cleanup();
  });

  function announce(size = bundle.length, sha = createHash('sha256').update(bundle).digest('hex')): Promise<string> {
    send(`install ${size} ${sha}`);
    return next();
  }

  it('acks a duplicate block without taking it twice and refuses one out of order', async () => {
    assert.equal(await announce(), `READY ${BLOCK_BYTES}`);
    send(encodeBlock(0, bundle.subarray(0, BLOCK_BYTES)));
    assert.equal(await next(), 'OK 0');
    send(encodeBlock(0, bundle.subarray(0, BLOCK_BYTES)));
    assert.equal(await next(), 'OK 0');
    send(encodeBlock(2, bundle.subarray(2 * BLOCK_BYTES, 3 * BLOCK_BYTES)));
    assert.equal(await next(), 'NAK 2 out-of-order expected 1');
    send('END');
    assert.match((await answer()).at(-1)!, new RegExp(`^ERR ABU_ERR_SOURCE .*after ${BLOCK_BYTES} of the ${bundle.length} announced bytes`));
    assert.equal((await fx.engine.status()).operation, null);
  });

  it('with a window, holds blocks that overtook a lost one, names the gap once and streams them in order', async () => {
    const sha = createHash('sha256').update(bundle).digest('hex');
    // The engine's PROGRESS lines may come between any two answers once the first blocks are in.
    const ack = async () => { let l = await next(); while (l.startsWith('PROGRESS ')) l = await next(); return l; };
    const block = (seq: number) => encodeBlock(seq, bundle.subarray(seq * BLOCK_BYTES, (seq + 1) * BLOCK_BYTES));
    send(`install ${bundle.length} ${sha} window=99`);
    assert.equal(await next(), `READY ${BLOCK_BYTES} ${MAX_WINDOW}`, 'the window is capped');
    send(block(1));
    assert.deepEqual([await ack(), await ack()], ['NAK 0 missing', 'OK 1']);
    send(block(2));
    assert.equal(await ack(), 'OK 2', 'the gap is named once, not once per later block');
    send(block(MAX_WINDOW));
    assert.equal(await ack(), `NAK ${MAX_WINDOW} out-of-order expected 0`, 'a block past the window is not held');
    send(block(0));
    assert.equal(await ack(), 'OK 0');
    send(block(1));
    assert.equal(await ack(), 'OK 1', 'taken already, with 0: only acknowledged again');
    const blocks = Math.ceil(bundle.length / BLOCK_BYTES);
    for (let seq = 3; seq < blocks; seq++) {
      send(block(seq));
      assert.equal(await ack(), `OK ${seq}`);
    }
    send('END');
    // The SHA-256 of the whole upload matches only if the held blocks went into the install in order.
    assert.ok((await answer()).some((l) => l.startsWith('installed 1.1.0 into slot B')));
  });

  it('ends the upload with ERR when a block goes past the announced size', async () => {
    assert.equal(await announce(100), `READY ${BLOCK_BYTES}`);
    send(encodeBlock(0, bundle.subarray(0, 200)));
    assert.match((await answer()).at(-1)!, /^ERR ABU_ERR_SERIAL_BLOCK .*past the announced 100 bytes/);
    send('status');
    assert.equal((await answer()).at(-1), 'OK');
  });

  it('abandons an upload whose host goes silent, so the engine is free again', async () => {
    assert.equal(await announce(), `READY ${BLOCK_BYTES}`);
    assert.match((await answer()).at(-1)!, /^ERR ABU_ERR_SERIAL_TIMEOUT /);
    assert.equal((await fx.engine.status()).operation, null);
  });

  it('cancel typed right behind the install line stops the upload it started', async () => {
    send(`install 10 ${'ab'.repeat(32)}\ncancel`);
    assert.equal(await next(), `READY ${BLOCK_BYTES}`);
    assert.match((await answer()).at(-1)!, /^ERR ABU_ERR_CANCELLED /);
  });

  it('with echo on, shows typing and takes a line edited with DEL', async () => {
    await server.stop();
    const fromDevice = new PassThrough();
    toDevice = new PassThrough();
    server = new ConsoleServer(fx.engine, Duplex.from({ readable: toDevice, writable: fromDevice }), { echo: true });
    const echoed: string[] = [];
    fromDevice.on('data', (d: Buffer) => echoed.push(String(d)));
    reader.close();
    reader = new LineReader(fromDevice);
    server.start();
    toDevice.write('stax\x7ftus\r');
    const lines = await answer();
    assert.ok(lines.includes('booted A') && lines.at(-1) === 'OK', lines.join('\n'));
    assert.ok(echoed.join('').includes('stax\b \btus\r\n'));
  });

  it('answers help, history and an unknown slot with a final OK or ERR line', async () => {
    send('help');
    assert.ok((await answer()).some((l) => l.startsWith('install SIZE SHA256HEX')));
    send('history 2');
    assert.equal((await answer()).at(-1), 'OK');
    send('mark-bad Z');
    assert.match((await answer()).at(-1)!, /^ERR ABU_ERR_/);
    send('cancel');
    assert.match((await answer()).at(-1)!, /^ERR ABU_ERR_NOTHING_RUNNING /);
  });

  /** A second server on fresh pipes, with options; `output` collects what it writes from the moment it starts. */
  function restart(options: ConstructorParameters<typeof ConsoleServer>[2]): { output: string[]; toDev: PassThrough } {
    const fromDevice = new PassThrough();
    const toDev = new PassThrough();
    const output: string[] = [];
    fromDevice.on('data', (d: Buffer) => output.push(String(d)));
    server = new ConsoleServer(fx.engine, Duplex.from({ readable: toDev, writable: fromDevice }), options);
    server.start();
    return { output, toDev };
  }

  it('redraws the prompt while idle, for an operator who attaches after the console started, but not over typing', async () => {
    await server.stop();
    const { output, toDev } = restart({ repromptMs: 50 });
    await until(() => output.join('').includes(`\r${PROMPT}`));
    assert.equal(output[0], PROMPT, 'the first prompt right at start');
    toDev.write('sta'); // half a line: an operator is typing
    await new Promise((r) => setTimeout(r, 20));
    const typed = output.length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(output.length, typed, 'no redraw over a half-typed line');
    toDev.write('tus\n');
    await until(() => output.join('').includes('\r\nOK\r\n'));
  });

  it('activate without an argument activates the other image and prints what boots next', async () => {
    await fx.engine.install(new FileSource(fx.sim.bundles[0]), { activate: false });
    send('activate');
    const lines = await answer();
    assert.deepEqual(lines, ['slot B (1.1.0) will be tried on the next boot; slot A stays as the fallback', 'OK']);
    assert.equal((await fx.engine.status()).slots.find((v) => v.name === 'B')?.primary, true);
  });

  it('activates an irreversible release only with the explicit word', async () => {
    await fx.engine.install(new FileSource(fx.sim.bundles[0]));
    await fx.engine.reboot(); // now running 1.1.0 in B
    await fx.engine.install(new FileSource(fx.sim.bundles[1]), { activate: false }); // 1.2.0, irreversible, into A
    send('activate other');
    assert.match((await answer()).at(-1)!, /^ERR ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED /);
    send('activate accept-irreversible');
    const lines = await answer();
    assert.equal(lines.at(-1), 'OK');
    assert.match(lines[0], /slot A \(1\.2\.0\) will be tried on the next boot/);
  });

  it('logs one line per command served and per install, start and result', async () => {
    send('status');
    await answer();
    send('activate C');
    await answer();
    toDevice.write(Buffer.from([0x01, 0x0a]));
    await answer();
    send(`install 10 ${'ab'.repeat(32)}`);
    assert.equal(await next(), `READY ${BLOCK_BYTES}`);
    send('cancel');
    await answer();
    assert.equal(logs[0], '"status": OK');
    assert.match(logs[1], /^"activate C": ERR ABU_ERR_SLOT_UNKNOWN /);
    assert.equal(logs[2], 'line refused: ERR ABU_ERR_SERIAL_GARBAGE line holds byte 0x01, which is not text; check the baud rate');
    assert.equal(logs[3], `install started: 10 bytes, sha256 ${'ab'.repeat(32)}`);
    assert.match(logs[4], /^install failed: ERR ABU_ERR_CANCELLED /);
    assert.equal(logs.length, 5);
  });

  it('logs what a changing command did, and a finished install', async () => {
    await fx.engine.install(new FileSource(fx.sim.bundles[0]), { activate: false });
    send('activate');
    await answer();
    assert.deepEqual(logs, ['"activate": OK: slot B (1.1.0) will be tried on the next boot; slot A stays as the fallback']);
  });
});

describe('console push to a device from before the window', () => {
  it('announces again without ranges, then without frames=binary, then without window=N, when the device refuses the words, and sends one block at a time', async () => {
    // A mock of the old device's answers (its code cannot run here): ERR ABU_ERR_USAGE to the unknown word,
    // `READY 3072` with no window, and an OK for each block; it fails the test if two blocks are ever in flight.
    const toDevice = new PassThrough();
    const fromDevice = new PassThrough();
    const splitter = new LineSplitter();
    const seen: string[] = [];
    let inFlight = 0;
    toDevice.on('data', (b: Buffer) => {
      for (const item of splitter.push(b)) {
        if (!('line' in item) || item.line === '') continue;
        const l = item.line;
        seen.push(l.startsWith('D ') ? 'D' : l);
        if (l.includes('window=')) fromDevice.write(`ERR ABU_ERR_USAGE install takes SIZE SHA256HEX [accept-irreversible] [no-activate], not "window=8"\r\n${PROMPT}`);
        else if (l.startsWith('install ')) fromDevice.write(`READY ${BLOCK_BYTES}\r\n`);
        else if (l === 'END') fromDevice.write('installed 1.1.0 into slot B\r\nOK\r\n');
        else if (l.startsWith('D ')) {
          inFlight++;
          assert.equal(inFlight, 1, 'one block at a time');
          setImmediate(() => { inFlight--; fromDevice.write(`OK ${decodeBlock(l).seq}\r\n`); });
        }
      }
    });
    const { dir, cleanup } = await tempDir('abu-oldpush-');
    try {
      const file = path.join(dir, 'bundle');
      await fs.writeFile(file, Buffer.alloc(5 * BLOCK_BYTES + 100, 7));
      const result = await pushBundle(Duplex.from({ readable: fromDevice, writable: toDevice }), file, { window: 8 });
      assert.equal(result.window, 1);
      assert.deepEqual(result.lines, ['installed 1.1.0 into slot B']);
      assert.equal(result.frames, 'base64');
      assert.equal(seen.filter((l) => l === 'D').length, 6);
      // Ranges, binary frames and the window are asked for, refused, dropped: first ranges, then the frames, then the window.
      assert.match(seen[0], / window=8 frames=binary ranges$/);
      assert.match(seen[1], / window=8 frames=binary$/);
      assert.match(seen[2], /[0-9a-f] window=8$/);
      assert.doesNotMatch(seen[3], /window|frames|ranges/);
    } finally {
      await cleanup();
    }
  });
});

describe('console push progress line', () => {
  it('redraws one line with CR and folds the device PROGRESS lines into it', () => {
    const out: string[] = [];
    const line = new PushProgressLine({ write: (t) => out.push(t) }, (n) => `${n}B`);
    line.update({ sent: 50, total: 200 });
    line.update({ sent: -1, total: -1, deviceLine: 'PROGRESS writing 10/100' });
    line.update({ sent: -1, total: -1, deviceLine: 'PROGRESS writing 10/100' });
    line.update({ sent: 200, total: 200, deviceLine: 'PROGRESS readback 100/100' });
    line.end();
    assert.deepEqual(out, [
      '\rsent 50B of 200B (25%)',
      '\rsent 50B of 200B (25%); device writing 10%',
      '\rsent 200B of 200B (100%); device readback 100%',
      '\n',
    ]);
  });

  it('wipes what a longer line left behind', () => {
    const out: string[] = [];
    const line = new PushProgressLine({ write: (t) => out.push(t) }, (n) => (n === 5 ? 'five bytes' : `${n}B`));
    line.update({ sent: 5, total: 10 });
    line.update({ sent: 10, total: 10 });
    assert.deepEqual(out, ['\rsent five bytes of 10B (50%)', '\rsent 10B of 10B (100%)      ']);
  });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}
