// Bounded resources under load: 200 loopback clients poll status and hold event streams while the operator installs.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { serve, type ServeProcess } from '../cli/abu-process';
import { editConfig } from './sim-daemon';
import { loadClient, rssMiB, type ClientTally, type LoadClient } from './load-clients';

const MIB = 1024 * 1024;
const CLIENTS = 200;
/** The test's limits: low enough that the fast half of the clients goes over, and 200 streams over the cap. */
const LIMITS = { requestsPerSecond: 2, burst: 4, eventStreams: 64, eventStreamsPerClient: 1 };
/** The daemon's peak RSS must stay under this (it is ~100-200 MiB; unbounded buffering of 200 clients would pass it). */
const RSS_BOUND_MIB = 400;

describe('bounded resources: 200 clients during an install', function () {
  this.timeout(120_000);
  let dir: string;
  let sim: SimAppliance;
  let daemon: ServeProcess;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-load-'));
    sim = await createSimAppliance(dir, { slotSize: 40 * MIB, imageSize: 32 * MIB });
    await editConfig(sim.configPath, (c) => { c.http = { ...(c.http ?? {}), limits: LIMITS }; });
    daemon = await serve(['--config', sim.configPath, '--port', '0']);
  });

  after(async () => {
    await daemon?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** The operator's install (token, upload body), not activated so it can run again; its time in seconds. */
  async function install(): Promise<number> {
    const body = await fs.readFile(sim.bundles[0]);
    const t0 = process.hrtime.bigint();
    const res = await fetch(`${daemon.url}/api/install?activate=false`, {
      method: 'POST', body, headers: { authorization: `Bearer ${daemon.token}`, 'content-type': 'application/octet-stream' },
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(JSON.parse(text).version, '1.1.0');
    return Number(process.hrtime.bigint() - t0) / 1e9;
  }

  it('finishes the install, answers every status request, keeps the operator at 200 and the RSS bounded', async () => {
    const alone = await install();
    const clients: LoadClient[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      // Even clients poll as fast as they are answered (pausing 20 ms; over the 2/s limit), odd ones every 1.5 s (under it).
      clients.push(loadClient(daemon.url, `127.0.0.${2 + i}`, i % 2 === 0 ? 20 : 1500));
    }
    const operator = loadClient(daemon.url, '127.0.0.1', 100, daemon.token);
    let peak = 0;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMiB(daemon.pid).rss); }, 100);
    let loaded = 0;
    try {
      await untilStreamsAnswered(clients);
      await new Promise((r) => setTimeout(r, 2000)); // the load runs before the install starts, too
      loaded = await install();
      // Progress sent during the install may still be on its way to a busy client: wait for it (generous deadline).
      const end = Date.now() + 30_000;
      while (clients.some((c) => c.tally.stream.status === 200 && c.tally.stream.progress === 0) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      clearInterval(sampler);
      await Promise.all([...clients, operator].map((c) => c.stop()));
    }
    const all = clients.map((c) => c.tally);
    const sum = (ts: ClientTally[], f: (t: ClientTally) => number) => ts.reduce((n, t) => n + f(t), 0);
    const answered = (t: ClientTally) => Object.values(t.answered).reduce((a, b) => a + b, 0);
    const sent = sum(all, (t) => t.sent);
    const got = sum(all, answered);
    const failures = all.flatMap((t) => t.failed).concat(operator.tally.failed);
    const codes = new Set(all.flatMap((t) => Object.keys(t.answered)));
    const streams = all.filter((t) => t.stream.status === 200);
    const refused = all.filter((t) => t.stream.status === 503);
    const hwm = rssMiB(daemon.pid).hwm;
    const lat = all.flatMap((t) => t.latencies).sort((a, b) => a - b);
    const op = [...operator.tally.latencies].sort((a, b) => a - b);
    const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]?.toFixed(0);
    console.log(`      ${CLIENTS} clients + operator: ${sent} status requests, ${got} answered (${((100 * got) / sent).toFixed(2)} %; ` +
      `${sum(all, (t) => t.answered[200] ?? 0)} x 200, ${sum(all, (t) => t.answered[429] ?? 0)} x 429), operator ${answered(operator.tally)} x 200; ` +
      `streams ${streams.length} open, ${refused.length} refused; install ${alone.toFixed(2)} s alone, ${loaded.toFixed(2)} s under load; ` +
      `daemon RSS peak ${peak.toFixed(0)} MiB (VmHWM ${hwm.toFixed(0)} MiB); status latency p50/p99 ${pct(lat, 0.5)}/${pct(lat, 0.99)} ms, ` +
      `operator ${pct(op, 0.5)}/${pct(op, 0.99)} ms`);

    assert.deepEqual(failures, [], 'every request got an HTTP answer');
    assert.equal(got, sent, 'every status request was answered');
    assert.deepEqual([...codes].sort(), ['200', '429'], 'status answers are 200, or 429 for a client over its rate');
    assert.ok(all.every((t, i) => i % 2 === 1 || (t.answered[429] ?? 0) > 0), 'every fast client was limited');
    assert.ok(all.every((t) => (t.answered[200] ?? 0) > 0), 'every client was answered with its status at times');
    assert.deepEqual(Object.keys(operator.tally.answered), ['200'], 'the operator (with the token) is never limited');
    assert.ok(answered(operator.tally) > 0);
    assert.equal(streams.length, LIMITS.eventStreams, 'event streams up to http.limits.eventStreams');
    assert.equal(refused.length, CLIENTS - LIMITS.eventStreams);
    assert.ok(refused.every((t) => t.stream.code === 'ABU_ERR_EVENT_STREAMS_FULL'), 'refused streams name the limit');
    assert.equal(operator.tally.stream.status, 200, 'the operator\'s stream is not counted against the cap');
    assert.ok(streams.every((t) => t.stream.progress > 0), 'every open stream saw the install\'s progress');
    assert.ok(hwm < RSS_BOUND_MIB, `daemon peak RSS ${hwm} MiB`);
  });
});

/** Until every client's event stream was answered (200 or refused), polling with a generous deadline. */
async function untilStreamsAnswered(clients: LoadClient[]): Promise<void> {
  const end = Date.now() + 60_000;
  while (clients.some((c) => c.tally.stream.status === 0)) {
    if (Date.now() > end) throw new Error('event streams were not answered within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}
