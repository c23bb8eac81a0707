// Test helper: each kind of abu writer started as a real process and held mid-operation (no fixed sleeps: a
// bundle prefix with the rest withheld, or a health check waiting on a file), then let go to finish.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import { BLOCK_BYTES, encodeBlock } from '../../../engine/transports/serial/console-protocol';
import { DEFAULT_LIMITS, decodeHeader, payloadStart } from '../../../engine/bundle/framing';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import type { HostConsole } from '../serial/pty-pair';
import { readState, spawnAbu, waitFor, waitForLockHeldBy, type ConsoleProcess, type ServeProcess } from './appliance-procs';

/** One simulated appliance shared by every writer: the daemon, two consoles, and the held health check's files. */
export interface RaceAppliance {
  sim: SimAppliance;
  stateDir: string;
  serve: ServeProcess;
  /** [0] is held as a writer, [1] tries while another writer holds the lock. */
  consoles: [ConsoleProcess, ConsoleProcess];
  /** While this file exists the first health check waits (it touches `healthStarted` first). */
  healthHold: string;
  healthStarted: string;
}

/** A writer holding the appliance lock, parked mid-operation. */
export interface HeldWriter {
  pid: number;
  /** How the writer's operation is named in a refusal (the lock record, or the daemon's own run). */
  operation: RegExp;
  /** Lets it go on; resolves once it finished, rejects when it did not succeed. */
  finish(): Promise<void>;
  /** Cleanup after a failed test: stop it without caring how. */
  abort(): void;
}

/** The health check that holds a (simulated) boot: waits while `hold` exists, after saying it started. */
export function heldHealthCheck(hold: string, started: string): { name: string; command: string; timeoutSeconds: number } {
  return { name: 'held-by-test', command: `touch '${started}'; while [ -e '${hold}' ]; do sleep 0.02; done`, timeoutSeconds: 120 };
}

/** Bytes up to the first payload chunk plus 64 KiB: enough to verify, plan and mark the target bad, not to write. */
export function heldPrefix(bundle: Buffer): number {
  return payloadStart(decodeHeader(bundle.subarray(0, 32), DEFAULT_LIMITS)) + 64 * 1024;
}

/** An install holds the lock and has marked slot B bad and unverified: it waits for the rest of chunk 0. */
async function installParked(app: RaceAppliance, pid: number): Promise<void> {
  await waitForLockHeldBy(app.stateDir, pid);
  await waitFor('the install to mark slot B unverified', async () => (await readState(app.sim)).slots.B?.verified === false);
}

/** `abu install --direct -` fed a prefix of the bundle on stdin, the pipe kept open. */
export async function holdCliInstall(app: RaceAppliance, bundle: Buffer): Promise<HeldWriter> {
  const cut = heldPrefix(bundle);
  const p = spawnAbu(['install', '--direct', '--config', app.sim.configPath, '-'], { stdin: 'pipe' });
  p.child.stdin!.on('error', () => undefined); // a refused or killed writer closes its end
  p.child.stdin!.write(bundle.subarray(0, cut));
  await installParked(app, p.pid);
  return {
    pid: p.pid,
    operation: /install from standard input/,
    async finish() {
      p.child.stdin!.end(bundle.subarray(cut));
      const e = await p.exit;
      assert.equal(e.code, 0, e.stderr);
      assert.match(e.stdout, /installed 1\.1\.0 into slot B/);
    },
    abort: () => p.child.kill('SIGKILL'),
  };
}

/** POST /api/install to the daemon announcing the whole bundle, sending a prefix, then nothing. */
export async function holdHttpUpload(app: RaceAppliance, bundle: Buffer, name: string): Promise<HeldWriter> {
  const cut = heldPrefix(bundle);
  const req = http.request(`${app.serve.url}/api/install`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.serve.token}`, 'content-type': 'application/octet-stream', 'content-length': bundle.length, 'x-abu-filename': name },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  answer.catch(() => undefined); // awaited in finish(); abort() makes it reject
  req.write(bundle.subarray(0, cut));
  await installParked(app, app.serve.proc.pid);
  return {
    pid: app.serve.proc.pid,
    operation: new RegExp(`install.*${name.replace(/\./g, '\\.')}`),
    async finish() {
      req.end(bundle.subarray(cut));
      const r = await answer;
      assert.equal(r.status, 200, r.body);
      assert.equal(JSON.parse(r.body).version, '1.1.0');
    },
    abort: () => req.destroy(),
  };
}

/** The next device line that is not a PROGRESS report. */
async function nextAnswer(host: HostConsole): Promise<string> {
  for (;;) {
    const l = await host.reader.next(15_000);
    if (!l.startsWith('PROGRESS ')) return l;
  }
}

/** Sends blocks [from, to) of `bundle` stop-and-wait, as `abu console push` does. */
async function sendBlocks(host: HostConsole, bundle: Buffer, from: number, to: number): Promise<void> {
  for (let seq = from; seq < to; seq++) {
    host.send(`${encodeBlock(seq, bundle.subarray(seq * BLOCK_BYTES, (seq + 1) * BLOCK_BYTES))}\n`);
    assert.equal(await nextAnswer(host), `OK ${seq}`);
  }
}

/** `install SIZE SHA256` on the serial console, the blocks covering a prefix sent, the rest withheld. */
export async function holdConsoleUpload(app: RaceAppliance, bundle: Buffer): Promise<HeldWriter> {
  const c = app.consoles[0];
  c.host.fresh();
  const blocks = Math.ceil(bundle.length / BLOCK_BYTES);
  const held = Math.ceil(heldPrefix(bundle) / BLOCK_BYTES);
  c.host.send(`install ${bundle.length} ${createHash('sha256').update(bundle).digest('hex')}\n`);
  assert.equal(await nextAnswer(c.host), `READY ${BLOCK_BYTES}`);
  await sendBlocks(c.host, bundle, 0, held);
  await installParked(app, c.proc.pid);
  return {
    pid: c.proc.pid,
    operation: /install from serial console upload/,
    async finish() {
      await sendBlocks(c.host, bundle, held, blocks);
      c.host.send('END\n');
      const lines: string[] = [];
      for (let l = await nextAnswer(c.host); ; l = await nextAnswer(c.host)) {
        lines.push(l);
        if (l === 'OK' || l.startsWith('ERR ')) break;
      }
      assert.equal(lines.at(-1), 'OK', lines.join('\n'));
      assert.ok(lines.some((l) => l.startsWith('installed 1.1.0 into slot B')), lines.join('\n'));
    },
    abort: () => c.host.send('cancel\n'),
  };
}

/** `abu reboot --direct`: the simulated boot runs boot-check, whose first health check waits on a file. */
export async function holdReboot(app: RaceAppliance): Promise<HeldWriter> {
  await fs.rm(app.healthStarted, { force: true });
  await fs.writeFile(app.healthHold, '');
  const p = spawnAbu(['reboot', '--direct', '--config', app.sim.configPath]);
  await waitForLockHeldBy(app.stateDir, p.pid);
  await waitFor('the held health check to start', () => fs.access(app.healthStarted).then(() => true, () => false));
  return {
    pid: p.pid,
    operation: /"reboot" by abu reboot/,
    async finish() {
      await fs.rm(app.healthHold, { force: true });
      const e = await p.exit;
      assert.equal(e.code, 0, e.stderr);
      assert.match(e.stdout, /restarting/);
    },
    abort: () => {
      void fs.rm(app.healthHold, { force: true });
      p.child.kill('SIGKILL');
    },
  };
}
