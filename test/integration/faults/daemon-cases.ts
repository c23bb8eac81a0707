// Kill-point cases in long-running processes: `abu serve` (an upload install, the package queue between and inside its
// bundles) and `abu console` (a serial upload). Each restarts the killed daemon and finishes the update through it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { FaultPointName } from '../../../engine/core/fault-point';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { postInstall, spawnAbu, startServe, waitFor, type ServeProcess } from '../lock/appliance-procs';
import { withEngine } from './appliance-cases';
import { expectKilledAt, faultEnv } from './fault-procs';
import { bootedNow, checkHistory, checkInvariants, runsConfirmed, type KnownImages } from './invariants';

export interface DaemonCase {
  name: string;
  point: FaultPointName;
  count?: number;
  run(sim: SimAppliance, images: KnownImages, c: DaemonCase): Promise<string[]>;
  /** The killed process held the appliance lock (history must say interrupted). */
  interrupted: boolean;
  /** The queue must report itself interrupted after the restart (not rolled back). */
  queueInterrupted?: boolean;
}

export const DAEMON_CASES: DaemonCase[] = [
  { name: 'daemon killed after chunk 1 of an upload install', point: 'install.after-chunk', count: 1, interrupted: true, run: uploadCase },
  { name: 'daemon killed in a queue apply, after chunk 1 of its first package', point: 'install.after-chunk', count: 1, interrupted: true, queueInterrupted: true, run: queueCase },
  { name: 'daemon killed in a queue apply, after marking its first package', point: 'queue.after-marker', interrupted: false, queueInterrupted: true, run: queueCase },
  { name: 'daemon killed in a queue apply, installed and activated, before the restart', point: 'queue.before-reboot', interrupted: false, queueInterrupted: true, run: queueCase },
  { name: 'daemon killed in a queue apply, between its bundles', point: 'queue.between-bundles', interrupted: false, run: queueCase },
  { name: 'serial console killed after accepting block 3 of an upload', point: 'serial.after-block', count: 3, interrupted: true, run: serialCase },
];

const UPLOAD = 'abu-demo-appliance-1.1.0.abu';

async function uploadCase(sim: SimAppliance, images: KnownImages, c: DaemonCase): Promise<string[]> {
  const before = await bootedNow(sim);
  const armed = await startServe(sim.configPath, faultEnv(c.point, c.count));
  await postInstall(armed, await fs.readFile(sim.bundles[0]), UPLOAD).catch(() => undefined); // the connection dies with it
  await expectKilledAt(armed.proc, c.point);
  const v = (await checkInvariants(sim, images, before)).map((x) => `after the kill: ${x}`);
  const d = await startServe(sim.configPath);
  try {
    const status = await api(d, 'GET', '/api/status');
    if (status.lastError?.code !== 'ABU_ERR_INTERRUPTED') v.push(`after the restart the last error is ${JSON.stringify(status.lastError)}, not the interruption`);
    v.push(...(await checkHistory(sim, c)).map((x) => `after the restart: ${x}`));
    const again = await postInstall(d, await fs.readFile(sim.bundles[0]), UPLOAD);
    if (again.status !== 200) v.push(`the retried upload answered ${again.status} ${JSON.stringify(again.json)}`);
    await api(d, 'POST', '/api/reboot', {});
    await waitFor('1.1.0 confirmed', async () => runsConfirmed(await api(d, 'GET', '/api/status'), '1.1.0'), 60_000);
  } finally {
    await d.stop();
  }
  return v;
}

/** 1.1.0 and 1.2.0 queued and applied; the daemon dies at the point; restarted, it reports what happened; applied again it ends on 1.2.0. */
async function queueCase(sim: SimAppliance, images: KnownImages, c: DaemonCase): Promise<string[]> {
  const before = await bootedNow(sim);
  const armed = await startServe(sim.configPath, faultEnv(c.point, c.count));
  for (const b of sim.bundles) await api(armed, 'POST', '/api/queue', await fs.readFile(b), path.basename(b));
  await api(armed, 'POST', '/api/queue/apply', { acceptIrreversible: true });
  await expectKilledAt(armed.proc, c.point);
  // The kill may come after a restart into 1.1.0 (between bundles): the booted slot is the one running now.
  const v = (await checkInvariants(sim, images, c.point === 'queue.between-bundles' ? await bootedNow(sim) : before)).map((x) => `after the kill: ${x}`);
  const d = await startServe(sim.configPath);
  try {
    await waitFor('the resumed queue to stop', async () => !(await api(d, 'GET', '/api/queue')).applying, 60_000);
    const log = await eventBacklog(d);
    if (log.some((e) => e.code === 'ABU_ERR_ROLLBACK')) v.push(`after the restart the queue reports a rollback: ${log.filter((e) => e.code === 'ABU_ERR_ROLLBACK').map((e) => e.message).join('; ')}`);
    const interrupted = log.some((e) => e.code === 'ABU_ERR_INTERRUPTED' && /queue was interrupted/.test(e.message));
    if (interrupted !== (c.queueInterrupted ?? false)) v.push(`after the restart the queue ${interrupted ? 'reports' : 'does not report'} an interruption: ${JSON.stringify(log.map((e) => e.message))}`);
    v.push(...(await checkHistory(sim, c)).map((x) => `after the restart: ${x}`));
    if ((await api(d, 'GET', '/api/queue')).items.length > 0) {
      await api(d, 'POST', '/api/queue/apply', { acceptIrreversible: true });
      await waitFor('the queue applied again', async () => {
        const q = await api(d, 'GET', '/api/queue');
        return !q.applying && q.items.length === 0;
      }, 60_000);
    }
    if (!runsConfirmed(await api(d, 'GET', '/api/status'), '1.2.0')) v.push('the queue did not end on 1.2.0, confirmed');
  } finally {
    await d.stop();
  }
  return v;
}

async function serialCase(sim: SimAppliance, images: KnownImages, c: DaemonCase): Promise<string[]> {
  const before = await bootedNow(sim);
  const first = await consoleLine(sim, 'armed', faultEnv(c.point, c.count));
  const pusher = spawnAbu(['console', 'push', '--device', first.host, sim.bundles[0]]);
  try {
    await expectKilledAt(first.console, c.point);
  } finally {
    pusher.child.kill('SIGKILL');
    await first.close();
  }
  const v = (await checkInvariants(sim, images, before)).map((x) => `after the kill: ${x}`);
  const second = await consoleLine(sim, 'again');
  try {
    v.push(...(await checkHistory(sim, c)).map((x) => `after the restart: ${x}`));
    const pushed = await spawnAbu(['console', 'push', '--device', second.host, sim.bundles[0]]).exit;
    if (pushed.code !== 0) v.push(`the push after the restart failed: ${pushed.stderr}`);
  } finally {
    await second.close();
  }
  await withEngine(sim, (e) => e.reboot());
  if (!runsConfirmed(await withEngine(sim, (e) => e.status()), '1.1.0')) v.push('1.1.0 pushed over serial is not running confirmed after the restart');
  return v;
}

/** A socat pty pair with `abu console --direct` on its device end; the host end's path for `abu console push`. */
async function consoleLine(sim: SimAppliance, name: string, env?: NodeJS.ProcessEnv) {
  const dev = path.join(sim.dir, `${name}-dev`);
  const host = path.join(sim.dir, `${name}-host`);
  const socat = spawn('socat', [`pty,raw,echo=0,link=${dev}`, `pty,raw,echo=0,link=${host}`], { stdio: 'ignore' });
  await waitFor('socat ptys', async () => existsSync(dev) && existsSync(host), 10_000);
  const console = spawnAbu(['console', '--device', dev, '--config', sim.configPath, '--direct'], { env });
  await waitFor('abu console to serve', async () => {
    if (console.child.exitCode !== null) throw new Error(`abu console exited with ${console.child.exitCode}: ${console.output().stderr}`);
    return /serving on/.test(console.output().stderr);
  }, 20_000);
  return {
    host,
    console,
    close: async () => {
      if (console.child.exitCode === null && console.child.signalCode === null) {
        console.child.kill('SIGTERM');
        await console.exit;
      }
      socat.kill();
    },
  };
}

async function api(d: ServeProcess, method: string, route: string, body?: unknown, name?: string): Promise<any> {
  const raw = Buffer.isBuffer(body);
  const res = await fetch(d.url + route, {
    method,
    headers: { authorization: `Bearer ${d.token}`, ...(body === undefined ? {} : { 'content-type': raw ? 'application/octet-stream' : 'application/json' }), ...(name ? { 'x-abu-filename': name } : {}) },
    body: body === undefined ? undefined : raw ? (body as Buffer) : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.status < 300, `${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * The log events the daemon keeps for a page that opens now (its backlog), from GET /api/events, read up to the
 * queue's last word (it stopped, or applied everything); the stream itself never ends.
 */
async function eventBacklog(d: ServeProcess): Promise<{ message: string; code?: string }[]> {
  const ac = new AbortController();
  const res = await fetch(`${d.url}/api/events`, { headers: { authorization: `Bearer ${d.token}` }, signal: ac.signal });
  const reader = res.body!.getReader();
  let text = '';
  const timer = setTimeout(() => ac.abort(), 20_000);
  try {
    while (!/queue (stopped|applied)/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return [...text.matchAll(/^event: log\ndata: (.*)$/gm)].map((m) => JSON.parse(m[1]));
}
