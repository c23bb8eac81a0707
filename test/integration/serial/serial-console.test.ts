// The serial console over a real pty pair (socat): status, switching slots, pushing a bundle, retransmits and refusals.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Duplex, PassThrough, Writable } from 'node:stream';
import type { SerialPort } from 'serialport';
import { isAbuError } from '../../../engine/core/errors';
import { FileSource } from '../../../engine/sources/file-source';
import { StreamSource } from '../../../engine/sources/stream-source';
import { BLOCK_BYTES } from '../../../engine/transports/serial/console-protocol';
import { consoleCommand } from '../../../engine/transports/cli/commands/console';
import { ConsoleServer } from '../../../engine/transports/serial/console-server';
import { pushBundle } from '../../../engine/transports/serial/push-client';
import { simFixture, slotHash, type SimFixture } from '../../helpers/sim-fixture';
import { tempDir } from '../../helpers/bundle-fixtures';
import { HostConsole, haveSocat, ptyPair, simOnPty, type PtyPair, type SimOnPty } from './pty-pair';

/**
 * Passes the host's writes to the port, damaging the first send of each block in `seqs`: `flip` changes one base64
 * character (the CRC catches it), `drop` loses the whole line (as a line lost to noise would be), `unmark`
 * garbles its leading D.
 */
function damageFirstSend(port: SerialPort, seqs: number[], how: 'flip' | 'drop' | 'unmark' = 'flip'): Duplex {
  const pending = new Set(seqs);
  const wrapper = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      let text = chunk.toString('latin1');
      const seq = Number(/^D ([0-9]+) /.exec(text)?.[1] ?? -1);
      if (pending.delete(seq)) {
        if (how === 'drop') return cb();
        if (how === 'unmark') text = `X${text.slice(1)}`; // no longer a D line: the device answers ERR ABU_ERR_BUSY
        const at = `D ${seq} `.length + 10;
        text = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
      }
      port.write(text, cb);
    },
  });
  port.on('data', (d: Buffer) => wrapper.push(d));
  return wrapper;
}

/** `abu console` in a child process (it runs until SIGTERM), driven through the command module itself. */
function spawnConsole(device: string, config: string): ChildProcess {
  const mod = path.join(__dirname, '../../../engine/transports/cli/commands/console.js');
  const script = `require(${JSON.stringify(mod)}).consoleCommand.run(${JSON.stringify(['--device', device, '--config', config, '--direct'])},
    { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env }).then((c) => process.exit(c), (e) => { console.error(e); process.exit(1); });`;
  return spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
}

function untilStderr(child: ChildProcess, re: RegExp): Promise<void> {
  let seen = '';
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => { seen += String(d); if (re.test(seen)) resolve(); });
    child.once('exit', (code) => reject(new Error(`abu console exited with ${code}: ${seen}`)));
  });
}

describe('serial console over a pty pair', function () {
  this.timeout(30_000);
  let fx: SimFixture;
  let pty: PtyPair;
  let server: ConsoleServer;
  let host: HostConsole;
  let setup: SimOnPty | null = null;

  beforeEach(async function () {
    if (!haveSocat()) this.skip(); // the pty pair needs socat (apt-get install socat; CI has it)
    setup = await simOnPty();
    ({ fx, pty } = setup);
    server = new ConsoleServer(fx.engine, pty.device);
    server.start();
    host = new HostConsole(pty.host);
  });

  afterEach(async function () {
    if (!setup) return;
    await server.stop();
    host.reader.close();
    await setup.close();
    setup = null;
  });

  it('answers status with slots, versions, states, booted and primary', async () => {
    const lines = await host.command('status');
    assert.equal(lines.at(-1), 'OK');
    assert.ok(lines.some((l) => /^slot A version=1\.0\.0 state=good .*booted primary/.test(l)), lines.join('\n'));
    assert.ok(lines.includes('booted A'));
    assert.ok(lines.some((l) => l.startsWith('floor ')));
    assert.ok(lines.some((l) => l.startsWith('last-error ')));
  });

  it('pushes the 1.1.0 bundle into B, then activate other and reboot switch back to A', async () => {
    const before = await slotHash(fx.sim, 'A');
    const progress: string[] = [];
    const result = await pushBundle(pty.host, fx.sim.bundles[0], { onProgress: (p) => p.deviceLine && progress.push(p.deviceLine) });
    host.fresh();
    assert.ok(progress.some((l) => /^PROGRESS writing \d+\/\d+$/.test(l)), progress.join('\n'));
    assert.ok(result.lines.some((l) => l.startsWith('installed 1.1.0 into slot B')), result.lines.join('\n'));
    console.log(`      serial push: ${result.bytes} bytes in ${result.seconds.toFixed(2)} s = ${(result.bytes / result.seconds / 1024).toFixed(0)} KiB/s`);
    const s = await fx.engine.status();
    assert.equal(s.slots.find((v) => v.name === 'B')?.version, '1.1.0');
    assert.equal(await slotHash(fx.sim, 'A'), before);
    assert.equal((await host.command('reboot')).at(-1), 'OK');
    assert.ok((await host.command('status')).includes('booted B'));
    assert.equal((await host.command('activate other')).at(-1), 'OK');
    assert.equal((await host.command('reboot')).at(-1), 'OK');
    assert.ok((await host.command('status')).includes('booted A'));
    assert.ok((await host.command('history 5')).some((l) => / activate /.test(l)));
  });

  it('abu console push sends a file from the command line, its progress on one redrawn line', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const sink = new Writable({ write(c, _e, cb) { out.push(String(c)); cb(); } });
    const ctx = { stdin: process.stdin, stdout: sink, stderr: new Writable({ write: (c, _e, cb) => { err.push(String(c)); cb(); } }), cwd: process.cwd(), env: {} };
    const hostPath = pty.host.path;
    await new Promise<void>((resolve) => pty.host.close(() => resolve()));
    assert.equal(await consoleCommand.run(['push', '--device', hostPath, fx.sim.bundles[0]], ctx), 0);
    assert.match(out.join(''), /installed 1\.1\.0 into slot B/);
    assert.match(out.join(''), /^sent .* as binary frames, 0 resent\)$/m);
    const progress = err.join('');
    assert.doesNotMatch(progress, /PROGRESS/, 'no protocol line on the terminal');
    assert.match(progress, /^\rsent .*\n$/s);
    assert.equal(progress.split('\n').length, 2, `one status line, redrawn with CR: ${JSON.stringify(progress.slice(-300))}`);
    assert.match(progress, /device (writing|readback|verifying) \d+%/);
    await assert.rejects(consoleCommand.run(['push', '--device', '/nonexistent/tty', fx.sim.bundles[0]], ctx), (e) => isAbuError(e, 'ABU_ERR_SERIAL_DEVICE') && /no such device; name the tty with --device/.test(e.message) && !/Error: /.test(e.message));
    await assert.rejects(consoleCommand.run(['push', '--device', fx.sim.bundles[0], fx.sim.bundles[0]], ctx), (e) => isAbuError(e, 'ABU_ERR_SERIAL_DEVICE') && /not a serial device/.test(e.message));
    await assert.rejects(consoleCommand.run(['push', '--device', hostPath, '--frames', 'hex', fx.sim.bundles[0]], ctx), (e) => isAbuError(e, 'ABU_ERR_USAGE'));
  });

  it('abu console serves the device end of the line until it is stopped', async () => {
    await server.stop();
    const devPath = pty.device.path;
    // The stopped server's last answer may still be on its way out: let it drain, and take the port's late errors
    // (EBADF from a write the close overtook) here, so none reaches mocha as an uncaught exception.
    await new Promise<void>((resolve) => pty.device.drain(() => resolve()));
    pty.device.on('error', () => undefined);
    await new Promise<void>((resolve) => pty.device.close(() => resolve()));
    const child = spawnConsole(devPath, fx.sim.configPath);
    try {
      await untilStderr(child, /serving on/);
      host.fresh();
      const logged = untilStderr(child, /abu console: "status": OK\n/);
      assert.ok((await host.command('status')).includes('booted A'));
      await logged;
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await new Promise((resolve) => child.once('exit', resolve)), 0);
  });

  it('pushes an irreversible release only with --accept-irreversible', async () => {
    await fx.engine.install(new FileSource(fx.sim.bundles[0]));
    await fx.engine.reboot(); // running 1.1.0 in B: 1.2.0 (irreversible) goes to A
    await assert.rejects(pushBundle(pty.host, fx.sim.bundles[1]), (e) => isAbuError(e, 'ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED'));
    const result = await pushBundle(pty.host, fx.sim.bundles[1], { acceptIrreversible: true });
    assert.ok(result.lines.some((l) => l.startsWith('installed 1.2.0 into slot A')), result.lines.join('\n'));
    assert.ok(result.lines.includes('slot A is tried on the next boot'), result.lines.join('\n'));
  });

  it('base64 D lines one block at a time (window 1, as older pushers send): NAKs a corrupted block and installs after the retransmit', async () => {
    // An ack timeout longer than the test's: only a NAK can trigger the resend, so passing proves the NAK path.
    const result = await pushBundle(damageFirstSend(pty.host, [3]), fx.sim.bundles[0], { ackTimeoutMs: 60_000, window: 1, frames: 'base64' });
    assert.equal(result.window, 1);
    assert.equal(result.retransmits, 1);
    assert.equal((await fx.engine.status()).slots.find((v) => v.name === 'B')?.version, '1.1.0');
  });

  it('base64 D lines, 8 blocks in flight, resends only the corrupted blocks', async () => {
    const damaged = [3, 5, 6, 20, 21, 22];
    const result = await pushBundle(damageFirstSend(pty.host, damaged), fx.sim.bundles[0], { ackTimeoutMs: 60_000, window: 8, frames: 'base64' });
    // Go-back-N would resend every block behind a damaged one; selective repeat sends each damaged block once more.
    assert.equal(result.window, 8);
    assert.equal(result.retransmits, damaged.length);
    assert.equal((await fx.engine.status()).slots.find((v) => v.name === 'B')?.version, '1.1.0');
  });

  it('base64 D lines, 8 blocks in flight, resends a block lost on the line when the device names the gap', async () => {
    // The ack timeout is longer than the test's, so only the device's `NAK <seq> missing` can bring the block back.
    const result = await pushBundle(damageFirstSend(pty.host, [4, 30], 'drop'), fx.sim.bundles[0], { ackTimeoutMs: 60_000, window: 8, frames: 'base64' });
    assert.equal(result.window, 8);
    assert.equal(result.retransmits, 2);
    assert.equal((await fx.engine.status()).slots.find((v) => v.name === 'B')?.version, '1.1.0');
  });

  it('base64 D lines, 8 blocks in flight, takes the device\'s ERR to a block whose D was garbled as a lost block, not the end', async () => {
    const result = await pushBundle(damageFirstSend(pty.host, [7], 'unmark'), fx.sim.bundles[0], { ackTimeoutMs: 60_000, window: 8, frames: 'base64' });
    assert.equal(result.retransmits, 1);
    assert.equal((await fx.engine.status()).slots.find((v) => v.name === 'B')?.version, '1.1.0');
  });

  it('base64 D lines, 8 blocks in flight, resends a lost last block after the ack timeout', async () => {
    const blocks = Math.ceil((await fs.stat(fx.sim.bundles[0])).size / BLOCK_BYTES);
    const result = await pushBundle(damageFirstSend(pty.host, [blocks - 1], 'drop'), fx.sim.bundles[0], { ackTimeoutMs: 1500, window: 8, frames: 'base64' });
    assert.equal(result.retransmits, 1);
    assert.equal((await fx.engine.status()).slots.find((v) => v.name === 'B')?.version, '1.1.0');
  });

  it('fails the install when the announced SHA-256 is wrong, with nothing activated (the device checks a whole push, the host a ranged one)', async () => {
    const before = await fx.engine.status();
    // Whole: every byte crosses, the device hashes them and refuses at END.
    await assert.rejects(pushBundle(pty.host, fx.sim.bundles[0], { sha256: 'ab'.repeat(32), ranges: false }), (e) => isAbuError(e, 'ABU_ERR_SERIAL_SHA256') && /uploaded bytes hash to/.test(e.message));
    // Ranged: the device sees only what it asks for, so the host checks its file, cancels and waits for the device's answer.
    await assert.rejects(pushBundle(pty.host, fx.sim.bundles[0], { sha256: 'ab'.repeat(32) }), (e) => isAbuError(e, 'ABU_ERR_SERIAL_SHA256') && /this host did/.test(e.message));
    host.fresh();
    const after = await fx.engine.status();
    assert.equal(after.slots.find((v) => v.name === 'B')?.version, before.slots.find((v) => v.name === 'B')?.version);
    assert.equal(after.slots.find((v) => v.primary)?.name, 'A');
    assert.equal((await host.command('status')).at(-1), 'OK');
  });

  it('refuses an over-long line and binary garbage and keeps answering', async () => {
    host.send(`${'x'.repeat(20_000)}\n`);
    assert.match((await host.answer()).at(-1)!, /^ERR ABU_ERR_SERIAL_LINE_TOO_LONG /);
    host.send(Buffer.from([0x00, 0xff, 0x1b, 0x5b, 0x41, 0x0a]));
    assert.match((await host.answer()).at(-1)!, /^ERR ABU_ERR_SERIAL_GARBAGE /);
    assert.match((await host.command('frobnicate')).at(-1)!, /^ERR ABU_ERR_USAGE /);
    assert.equal((await host.command('status')).at(-1), 'OK');
  });

  it('answers ERR ABU_ERR_BUSY to a second install while one runs, and cancel stops the first', async () => {
    const announce = `install 1000 ${'cd'.repeat(32)}`;
    host.send(`${announce}\n`);
    assert.equal(await host.reader.next(5000), `READY ${BLOCK_BYTES}`);
    assert.match((await host.command(announce)).at(-1)!, /^ERR ABU_ERR_BUSY /);
    assert.match((await host.command('cancel')).at(-1)!, /^ERR ABU_ERR_CANCELLED /);
    // Now an install from another transport (a stream that never finishes) holds the engine.
    const other = new PassThrough();
    const running = fx.engine.install(new StreamSource(other, 'test stream'));
    await new Promise((r) => setTimeout(r, 50));
    assert.match((await host.command(announce)).at(-1)!, /^ERR ABU_ERR_BUSY /);
    other.destroy(new Error('test stream closed'));
    await assert.rejects(running);
    assert.equal((await host.command('status')).at(-1), 'OK');
  });
});

describe('a serial line written while it is read', function () {
  this.timeout(60_000);

  it('finishes a large write while the other end keeps answering (serialport must not drop the write wait)', async function () {
    if (!haveSocat()) this.skip(); // the pty pair needs socat (apt-get install socat; CI has it)
    const t = await tempDir('abu-pty-');
    const pty = await ptyPair(t.dir);
    try {
      // 4 MiB through socat's 8 KiB buffer: the host's writes hit EAGAIN many times while the device answers every
      // 64 KiB it reads, so read waits and write waits overlap on the host again and again.
      const total = 4 * 1024 * 1024;
      let got = 0;
      let nextAnswer = 64 * 1024;
      pty.host.on('data', () => undefined);
      const all = new Promise<void>((resolve) => pty.device.on('data', (b: Buffer) => {
        got += b.length;
        for (; got >= nextAnswer; nextAnswer += 64 * 1024) pty.device.write(`OK ${nextAnswer}\n`);
        if (got >= total) resolve();
      }));
      pty.host.write(Buffer.alloc(total, 0x78));
      // Generous: 4 MiB takes well under a second on a pty; a dropped write wait stalls for ever.
      const stalled = new Promise<never>((_r, reject) => setTimeout(() => reject(new Error(`stalled at ${got} of ${total} bytes`)), 45_000).unref());
      await Promise.race([all, stalled]);
      assert.equal(got, total);
    } finally {
      await pty.close();
      await t.cleanup();
    }
  });
});
