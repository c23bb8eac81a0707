// The update service end to end on the simulated appliance with the real engine: install, progress, activate, queue, CLI client.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LogEvent, ProgressEvent } from '../../../engine/core/progress';
import { findDaemon } from '../../../engine/transports/cli/daemon-client';
import { RemoteEngine } from '../../../engine/transports/cli/remote-engine';
import { FileSource } from '../../../engine/sources/file-source';
import { resolveToken } from '../../../engine/transports/http/auth';
import { startDaemon } from '../../../engine/transports/http/daemon';
import { startFaultServer } from './fault-server';
import { createEngine } from '../../../engine/engine';
import { editConfig, settle, startSimDaemon, startTestDaemon, type SimDaemon } from './sim-daemon';

describe('abu serve: HTTP API on the simulated appliance', function () {
  this.timeout(60_000);
  let d: SimDaemon;
  beforeEach(async () => {
    d = await startSimDaemon();
  });
  afterEach(async () => d.close());

  it('serves status, OpenAPI and the page without a token', async () => {
    const status = await d.call('GET', '/api/status', { auth: false });
    assert.equal(status.status, 200);
    assert.equal(status.json.booted, 'A');
    assert.equal(status.json.slots.find((s: any) => s.booted).version, '1.0.0');
    const api = await d.call('GET', '/api/openapi.json', { auth: false });
    assert.equal(api.json.openapi, '3.0.3');
    assert.ok(api.json.paths['/api/install'].post.security);
    const page = await fetch(d.daemon.url + '/');
    assert.match(await page.text(), /Activate alternate image/);
  });

  it('installs an upload through the CLI client with live progress, then activates and reboots into it', async () => {
    const client = await findDaemon(d.sim.configPath, {});
    assert.ok(client, 'the CLI finds the running daemon from its config');
    const progress: ProgressEvent[] = [];
    const logs: LogEvent[] = [];
    const remote = new RemoteEngine(client);
    remote.subscribe({ progress: (e) => progress.push(e), log: (e) => logs.push(e) });
    const result = await remote.install(new FileSource(d.sim.bundles[0]));
    assert.equal(result.version, '1.1.0');
    assert.equal(result.slot, 'B');
    const writing = progress.filter((e) => e.phase === 'writing');
    assert.ok(writing.length > 0 && progress.every((e) => e.schema === 1));
    const last = writing[writing.length - 1];
    assert.equal(last.bytesDone, last.bytesTotal);
    assert.ok(logs.some((l) => /1\.1\.0/.test(l.message)));

    const activate = await d.call('POST', '/api/activate', { body: { reboot: true } });
    assert.equal(activate.status, 202);
    const after = await settleBooted(d, 'B');
    assert.equal(after.slots.find((s: any) => s.booted).version, '1.1.0');
    const history = await client.history();
    assert.ok(history.some((h) => h.kind === 'install' && h.version === '1.1.0'));
  });

  it('replays missed events to a client that reconnects with Last-Event-ID', async () => {
    await d.call('POST', '/api/install', { raw: await fs.readFile(d.sim.bundles[0]), type: 'application/octet-stream' });
    const all = await sseSnapshot(d, {});
    const ids = [...all.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.ok(ids.length >= 4, all);
    const middle = ids[Math.floor(ids.length / 2)];
    const replay = await sseSnapshot(d, { 'last-event-id': String(middle) });
    const replayed = [...replay.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(replayed, ids.filter((i) => i > middle));
    assert.match(replay, /^event: (progress|log)$/m);
    assert.match(replay, /"schema":1/);
  });

  it('downloads from a URL, resuming after a dropped connection', async () => {
    const bundle = await fs.readFile(d.sim.bundles[0]);
    const server = await startFaultServer(bundle, { kind: 'drop', afterBytes: 1_500_000, times: 1 });
    try {
      const r = await d.call('POST', '/api/install-url', { body: { url: server.url() } });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.equal(r.json.version, '1.1.0');
      assert.equal(server.requests[1].range, 'bytes=1500000-');
    } finally {
      await server.close();
    }
  });

  it('applies a queue strictly in version order, restarting into each release', async () => {
    // Added newest first: the queue must still apply 1.1.0 before 1.2.0.
    for (const file of [...d.sim.bundles].reverse()) {
      const r = await d.call('POST', '/api/queue', { raw: await fs.readFile(file), type: 'application/octet-stream' });
      assert.equal(r.status, 201, JSON.stringify(r.json));
    }
    const queue = await d.call('GET', '/api/queue');
    assert.deepEqual(queue.json.items.map((i: any) => [i.version, i.problem]), [['1.1.0', null], ['1.2.0', null]]);
    const unconfirmed = await d.call('POST', '/api/queue/apply', { body: {} });
    assert.equal(unconfirmed.status, 409, 'the queue holds the irreversible 1.2.0');
    assert.equal(unconfirmed.json.code, 'ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED');
    assert.equal((await d.call('POST', '/api/queue/apply', { body: { acceptIrreversible: true } })).status, 202);
    const end = Date.now() + 30_000;
    let q = queue.json;
    while ((q.applying || q.items.length > 0) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await d.call('GET', '/api/queue');
      if (r.status === 200) q = r.json;
    }
    assert.equal(q.items.length, 0);
    const status = (await d.call('GET', '/api/status')).json;
    assert.equal(status.slots.find((s: any) => s.booted).version, '1.2.0');
    assert.equal(status.floor, '1.2.0');
    assert.ok(status.warnings.some((w: string) => /below the floor/.test(w)));
    assert.equal(status.alternateActivatable, false);
  });

  it('resumes the queue after a real restart, once the new version is confirmed', async () => {
    // A real appliance: the reboot command returns at once and the machine goes down; `true` stands in for it.
    await d.close();
    d = await startSimDaemon({ editConfig: (c) => (c.reboot = { command: ['true'] }) });
    for (const file of d.sim.bundles) await d.call('POST', '/api/queue', { raw: await fs.readFile(file), type: 'application/octet-stream' });
    await d.call('POST', '/api/queue/apply', { body: { acceptIrreversible: true } });
    await waitForQueue(d, (q) => !q.applying);
    const pending = (await d.call('GET', '/api/status')).json;
    assert.equal(pending.booted, 'A', 'no restart happened yet');
    assert.equal(pending.slots.find((s: any) => s.name === 'B').version, '1.1.0');
    assert.equal((await d.call('GET', '/api/queue')).json.items.length, 2, 'the queue waits for the restart');

    // The machine restarts: the bootloader tries B and boot-check confirms it; then the daemon starts again.
    await d.daemon.close();
    await editConfig(d.sim.configPath, (c) => (c.reboot = { simulated: true }));
    const engine = await createEngine(d.sim.configPath);
    await engine.reboot();
    await engine.close();
    d.daemon = await startTestDaemon(d.sim.configPath);
    const q = await waitForQueue(d, (x) => !x.applying && x.items.length === 0);
    assert.equal(q.items.length, 0);
    const status = (await d.call('GET', '/api/status')).json;
    assert.equal(status.slots.find((s: any) => s.booted).version, '1.2.0');
  });

  it('refuses a queue with a gap in the chain', async () => {
    const r = await d.call('POST', '/api/queue', { raw: await fs.readFile(d.sim.bundles[1]), type: 'application/octet-stream' });
    assert.equal(r.status, 201);
    const q = await d.call('GET', '/api/queue');
    assert.match(q.json.items[0].problem, /1\.1\.0/);
    const apply = await d.call('POST', '/api/queue/apply');
    assert.equal(apply.status, 409);
    assert.equal(apply.json.code, 'ABU_ERR_QUEUE_CHAIN');
  });

  it('stores a generated token with mode 0600 and reuses it', async () => {
    const st = await fs.stat(d.daemon.tokenFile);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal((await fs.readFile(d.daemon.tokenFile, 'utf8')).trim(), d.daemon.token);
    assert.equal(await resolveToken(undefined, d.daemon.tokenFile), d.daemon.token);
  });
});

/** Reads an event stream for a moment and returns what arrived. */
async function sseSnapshot(d: SimDaemon, headers: Record<string, string>): Promise<string> {
  const controller = new AbortController();
  const res = await fetch(d.daemon.url + '/api/events', { headers, signal: controller.signal });
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  let text = '';
  const reader = res.body!.getReader();
  const timer = setTimeout(() => controller.abort(), 300);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
  } catch {
    /* aborted after the snapshot window */
  } finally {
    clearTimeout(timer);
  }
  return text;
}

async function waitForQueue(d: SimDaemon, done: (q: any) => boolean): Promise<any> {
  const end = Date.now() + 30_000;
  for (;;) {
    const r = await d.call('GET', '/api/queue');
    if ((r.status === 200 && done(r.json)) || Date.now() > end) return r.json;
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function settleBooted(d: SimDaemon, slot: string): Promise<any> {
  const end = Date.now() + 20_000;
  for (;;) {
    const s = await settle(d);
    if (s.booted === slot || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Cancel reaches an install wherever its source waits. Retries pause a minute and every idle timeout is a
// minute, so an answer within SOON can only come from the cancel; each state is reached by waiting for what
// the server or the engine reports, never by sleeping, so the outcome does not depend on the machine's load.
describe('abu serve: cancel', function () {
  this.timeout(60_000);
  const SOON = 5000;
  let d: SimDaemon;
  let bundle: Buffer;
  beforeEach(async () => {
    d = await startSimDaemon({ editConfig: (c) => (c.install = { ...c.install, idleTimeoutSeconds: 60 }) });
    await d.daemon.close();
    d.daemon = await startDaemon({ configPath: d.sim.configPath, port: 0, download: { retries: 3, retryDelayMs: 60_000, idleTimeoutMs: 60_000 } });
    bundle = await fs.readFile(d.sim.bundles[0]);
  });
  afterEach(async () => d.close());

  /** Cancels once `ready` holds; the install must answer 409 ABU_ERR_CANCELLED at once and record that code. */
  async function cancelWhen(pending: Promise<{ status: number; json: any }>, ready: () => boolean | Promise<boolean>): Promise<void> {
    await waitUntil(ready);
    const at = Date.now();
    const cancel = await d.call('POST', '/api/cancel');
    assert.equal(cancel.status, 200, JSON.stringify(cancel.json));
    const r = await pending;
    assert.ok(Date.now() - at < SOON, `the install ended ${Date.now() - at} ms after the cancel`);
    assert.equal(r.status, 409, JSON.stringify(r.json));
    assert.equal(r.json.code, 'ABU_ERR_CANCELLED');
    const status = await settle(d);
    assert.equal(status.lastError?.code, 'ABU_ERR_CANCELLED', JSON.stringify(status.lastError));
    assert.equal(status.slots.find((s: any) => s.primary).name, 'A', 'nothing was activated');
  }

  it('while the download waits for a server that never answers', async () => {
    const server = await startFaultServer(bundle, { kind: 'silent' });
    try {
      await cancelWhen(d.call('POST', '/api/install-url', { body: { url: server.url() } }), () => server.requests.length === 1);
    } finally {
      await server.close();
    }
  });

  it('in the pause between download attempts, with no further attempt', async () => {
    const server = await startFaultServer(bundle, { kind: 'status', status: 503 });
    try {
      await cancelWhen(d.call('POST', '/api/install-url', { body: { url: server.url() } }), () => server.requests.length === 1);
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });

  it('mid-stream, after the server went silent with most of the payload sent', async () => {
    // All but the last half MiB: at least one whole chunk arrives and is written before the silence.
    const server = await startFaultServer(bundle, { kind: 'stall', afterBytes: bundle.length - (512 << 10) });
    let writing = false; // the payload streams: header, signatures and plan are behind
    const unsubscribe = d.daemon.engine.subscribe({ progress: (e) => { if (e.phase === 'writing') writing = true; }, log: () => undefined });
    try {
      await cancelWhen(d.call('POST', '/api/install-url', { body: { url: server.url() } }), () => writing);
    } finally {
      unsubscribe();
      await server.close();
    }
  });

  it('mid-upload, and records the same code it answers', async () => {
    let writing = false; // the payload streams: header, signatures and plan are behind
    const unsubscribe = d.daemon.engine.subscribe({ progress: (e) => { if (e.phase === 'writing') writing = true; }, log: () => undefined });
    const ctl = new AbortController();
    // The body sends all but the last half MiB, then nothing: the client stays connected but silent.
    const body = new ReadableStream({ start: (c) => c.enqueue(bundle.subarray(0, bundle.length - (512 << 10))) });
    const pending = fetch(d.daemon.url + '/api/install', {
      method: 'POST', body, duplex: 'half', signal: ctl.signal,
      headers: { authorization: `Bearer ${d.daemon.token}`, 'content-type': 'application/octet-stream', 'content-length': String(bundle.length) },
    } as RequestInit).then(async (r) => ({ status: r.status, json: await r.json() }));
    try {
      await cancelWhen(pending, () => writing);
    } finally {
      unsubscribe();
      ctl.abort();
    }
  });
});

async function waitUntil(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('abu serve: configured token and TLS', function () {
  this.timeout(60_000);

  it('serves HTTPS with the configured certificate and uses the configured token', async function () {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    } catch {
      await fs.rm(dir, { recursive: true, force: true });
      this.skip(); // openssl is part of Debian's base system and CI; only a stripped-down machine lacks it
    }
    const token = 'configured-token-0123456789';
    const d = await startSimDaemon({ editConfig: (c) => (c.http = { token, tls: { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') } }) });
    try {
      assert.match(d.daemon.url, /^https:/);
      assert.equal(d.daemon.token, token);
      const ca = await fs.readFile(path.join(dir, 'cert.pem'));
      const get = (route: string, auth?: string) => httpsJson(d.daemon.url + route, ca, auth);
      assert.equal((await get('/api/status')).json.booted, 'A');
      assert.equal((await get('/api/mark-good', 'Bearer wrong')).json.code, 'ABU_ERR_UNAUTHORIZED');
      const ok = await get('/api/mark-good', `Bearer ${token}`);
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
    } finally {
      await d.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a configured token that is too short', async () => {
    await assert.rejects(startSimDaemon({ editConfig: (c) => (c.http = { token: 'short' }) }), (e: any) => e.code === 'ABU_ERR_CONFIG');
  });
});

/** GET, or POST {} when `auth` is given, over HTTPS trusting only `ca`. */
function httpsJson(url: string, ca: Buffer, auth?: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = auth ? { authorization: auth, 'content-type': 'application/json' } : {};
    const req = https.request(url, { method: auth ? 'POST' : 'GET', ca, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(auth ? '{}' : undefined);
  });
}
