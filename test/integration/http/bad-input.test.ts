// Bad input over HTTP (issue 5 item 6): each case gets its status and JSON error code, nothing is activated, the daemon keeps serving.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import { startFaultServer, type Fault } from './fault-server';
import { settle, startSimDaemon, type SimDaemon } from './sim-daemon';

const OCTETS = 'application/octet-stream';

describe('abu serve: bad input over HTTP', function () {
  this.timeout(60_000);
  let d: SimDaemon;
  let bundle: Buffer;
  let initial: string;
  // One appliance for the whole suite: no case may change it, and each case checks that.
  before(async () => {
    d = await startSimDaemon();
    bundle = await fs.readFile(d.sim.bundles[0]);
    initial = bootSummary((await d.call('GET', '/api/status')).json);
  });
  after(async () => d.close());

  async function assertUnchanged(): Promise<void> {
    const status = await settle(d);
    assert.equal(bootSummary(status), initial, 'nothing was activated');
    assert.equal(status.operation, null);
  }

  const requests: { name: string; method: string; route: string; raw?: () => Buffer | string; body?: unknown; type?: string; auth?: boolean | string; headers?: Record<string, string>; status: number; code: string; message?: RegExp }[] = [
    { name: 'a malformed body (random bytes)', method: 'POST', route: '/api/install', raw: () => randomBytes(64 * 1024), type: OCTETS, status: 422, code: 'ABU_ERR_BUNDLE_MAGIC' },
    { name: 'a truncated bundle', method: 'POST', route: '/api/install', raw: () => bundle.subarray(0, bundle.length >> 1), type: OCTETS, status: 422, code: 'ABU_ERR_BUNDLE_TRUNCATED' },
    { name: 'a bundle with bytes after its end', method: 'POST', route: '/api/install', raw: () => Buffer.concat([bundle, Buffer.alloc(8192, 1)]), type: OCTETS, status: 422, code: 'ABU_ERR_BUNDLE_TRAILING' },
    { name: 'a multipart upload', method: 'POST', route: '/api/install', raw: () => '--x\r\n\r\n', type: 'multipart/form-data; boundary=x', status: 415, code: 'ABU_ERR_UNSUPPORTED_MEDIA' },
    { name: 'malformed JSON', method: 'POST', route: '/api/install-url', raw: () => '{"url": ', type: 'application/json', status: 400, code: 'ABU_ERR_USAGE' },
    { name: 'JSON without a url', method: 'POST', route: '/api/install-url', body: { link: 'x' }, status: 400, code: 'ABU_ERR_USAGE' },
    { name: 'a file: URL', method: 'POST', route: '/api/install-url', body: { url: 'file:///etc/shadow' }, status: 400, code: 'ABU_ERR_USAGE' },
    { name: 'a JSON array body', method: 'POST', route: '/api/activate', body: ['other'], status: 400, code: 'ABU_ERR_USAGE' },
    { name: 'an oversized JSON body', method: 'POST', route: '/api/activate', raw: () => JSON.stringify({ pad: 'x'.repeat(200_000) }), type: 'application/json', status: 413, code: 'ABU_ERR_BUNDLE_LIMIT' },
    { name: 'no token', method: 'POST', route: '/api/install', raw: () => bundle, type: OCTETS, auth: false, status: 401, code: 'ABU_ERR_UNAUTHORIZED' },
    { name: 'a wrong token', method: 'POST', route: '/api/activate', body: {}, auth: 'Bearer not-the-token', status: 401, code: 'ABU_ERR_UNAUTHORIZED' },
    { name: 'a token in the wrong scheme', method: 'POST', route: '/api/reboot', body: {}, auth: 'Basic YWJ1OmFidQ==', status: 401, code: 'ABU_ERR_UNAUTHORIZED' },
    { name: 'no token on mark-bad', method: 'POST', route: '/api/mark-bad', body: {}, auth: false, status: 401, code: 'ABU_ERR_UNAUTHORIZED' },
    { name: 'no token on queue apply', method: 'POST', route: '/api/queue/apply', auth: false, status: 401, code: 'ABU_ERR_UNAUTHORIZED' },
    { name: 'path tricks in a page path', method: 'GET', route: '/..%2f..%2f..%2fetc%2fpasswd', status: 404, code: 'ABU_ERR_NOT_FOUND' },
    { name: 'dot segments to the package file', method: 'GET', route: '/app.js/%2e%2e/%2e%2e/package.json', status: 404, code: 'ABU_ERR_NOT_FOUND' },
    { name: 'path tricks in a queue id', method: 'DELETE', route: '/api/queue/..%2f..%2fconfig.json', status: 404, code: 'ABU_ERR_NOT_FOUND' },
    { name: 'path tricks in a slot name', method: 'POST', route: '/api/activate', body: { slot: '../A' }, status: 400, code: 'ABU_ERR_USAGE' },
    { name: 'a slot that does not exist', method: 'POST', route: '/api/mark-bad', body: { slot: 'C' }, status: 404, code: 'ABU_ERR_SLOT_UNKNOWN' },
    { name: 'cancel with nothing running', method: 'POST', route: '/api/cancel', status: 409, code: 'ABU_ERR_NOTHING_RUNNING' },
    { name: 'a bad history limit', method: 'GET', route: '/api/history?limit=-1', status: 400, code: 'ABU_ERR_USAGE' },
    // A mistyped field used to be ignored and its default used: here, activating the alternate image, installing and activating.
    { name: 'a mistyped field in activate', method: 'POST', route: '/api/activate', body: { slott: 'A' }, status: 400, code: 'ABU_ERR_USAGE', message: /unknown field "slott" \(did you mean "slot"\?\): POST \/api\/activate takes slot, reboot, acceptIrreversible/ },
    { name: 'a mistyped query parameter on an upload', method: 'POST', route: '/api/install?activte=false', raw: () => bundle, type: OCTETS, status: 400, code: 'ABU_ERR_USAGE', message: /unknown field "activte" \(did you mean "activate"\?\)/ },
    { name: 'a mistyped field in install-url', method: 'POST', route: '/api/install-url', body: { url: 'http://127.0.0.1:9/x.abu', activat: false }, status: 400, code: 'ABU_ERR_USAGE', message: /did you mean "activate"/ },
    { name: 'a text file as the bundle', method: 'POST', route: '/api/install', raw: () => 'hello\n', type: OCTETS, status: 422, code: 'ABU_ERR_BUNDLE_MAGIC', message: /not an abu bundle: it is only 6 bytes and starts with .*text "hello\\n"/ },
    { name: 'a bundle sent as a form (curl --data-binary without a type)', method: 'POST', route: '/api/install', raw: () => bundle, type: 'application/x-www-form-urlencoded', status: 415, code: 'ABU_ERR_UNSUPPORTED_MEDIA', message: /"application\/x-www-form-urlencoded" is not accepted: send a bundle as application\/octet-stream/ },
  ];
  for (const c of requests) {
    it(`refuses ${c.name}: ${c.status} ${c.code}`, async () => {
      const r = await d.call(c.method, c.route, { raw: c.raw?.(), body: c.body, type: c.type, auth: c.auth, headers: c.headers });
      assert.equal(r.status, c.status, JSON.stringify(r.json));
      assert.equal(r.json.code, c.code, JSON.stringify(r.json));
      assert.equal(typeof r.json.message, 'string');
      if (c.message) assert.match(r.json.message, c.message);
      await assertUnchanged();
    });
  }

  const urls: { name: string; fault: Fault; status: number; code: string }[] = [
    { name: '404', fault: { kind: 'status', status: 404 }, status: 502, code: 'ABU_ERR_HTTP_SOURCE' },
    { name: '500', fault: { kind: 'status', status: 500 }, status: 502, code: 'ABU_ERR_HTTP_SOURCE' },
    { name: 'garbage', fault: { kind: 'garbage', size: 100_000 }, status: 422, code: 'ABU_ERR_BUNDLE_MAGIC' },
    { name: 'more bytes than announced', fault: { kind: 'extra-bytes', extra: 65536 }, status: 502, code: 'ABU_ERR_HTTP_SOURCE' },
    { name: 'a connection that keeps dropping', fault: { kind: 'drop', afterBytes: 300_000 }, status: 502, code: 'ABU_ERR_HTTP_SOURCE' },
  ];
  for (const c of urls) {
    it(`refuses a URL answering ${c.name}: ${c.status} ${c.code}`, async () => {
      const server = await startFaultServer(bundle, c.fault);
      try {
        const r = await d.call('POST', '/api/install-url', { body: { url: server.url() } });
        assert.equal(r.status, c.status, JSON.stringify(r.json));
        assert.equal(r.json.code, c.code, JSON.stringify(r.json));
      } finally {
        await server.close();
      }
      await assertUnchanged();
    });
  }

  it('refuses a body announced larger than the slot before reading it: 413 ABU_ERR_IMAGE_TOO_LARGE', async () => {
    const socket = await rawUpload(d, 1 << 30, bundle.subarray(0, 4096));
    const answer = await responseOf(socket);
    socket.destroy();
    assert.match(answer, /^HTTP\/1.1 413/);
    assert.match(answer, /"code":"ABU_ERR_IMAGE_TOO_LARGE"/);
    await assertUnchanged();
  });

  it('survives a client that stops sending halfway', async () => {
    const socket = await rawUpload(d, bundle.length, bundle.subarray(0, bundle.length >> 1));
    await new Promise((r) => setTimeout(r, 200));
    socket.destroy();
    const status = await settle(d);
    assert.ok(['ABU_ERR_SOURCE', 'ABU_ERR_BUNDLE_TRUNCATED'].includes(status.lastError?.code), JSON.stringify(status.lastError));
    await assertUnchanged();
  });

  it('answers a concurrent install with 409 naming what runs, and cancels the first', async () => {
    // The first upload sends its head and one chunk, then stalls: the engine is busy waiting for bytes.
    const socket = await rawUpload(d, bundle.length, bundle.subarray(0, 1 << 20));
    const answer = responseOf(socket);
    await waitFor(async () => (await d.call('GET', '/api/status')).json.operation !== null);
    const second = await d.call('POST', '/api/install', { raw: bundle, type: OCTETS });
    assert.equal(second.status, 409);
    assert.equal(second.json.code, 'ABU_ERR_BUSY');
    assert.match(second.json.details.running, /install/);
    const byUrl = await d.call('POST', '/api/install-url', { body: { url: 'http://127.0.0.1:9/x.abu' } });
    assert.equal(byUrl.json.code, 'ABU_ERR_BUSY');
    const cancel = await d.call('POST', '/api/cancel');
    assert.equal(cancel.status, 200);
    const first = await answer;
    assert.match(first, /^HTTP\/1.1 409/);
    assert.match(first, /ABU_ERR_CANCELLED/);
    socket.destroy();
    await assertUnchanged();
  });

  it('uses an uploaded file name as a label only, never as a path', async () => {
    const evil = `../../../../tmp/abu-evil-${process.pid}.abu`;
    const r = await d.call('POST', '/api/queue', { raw: bundle, type: OCTETS, headers: { 'x-abu-filename': encodeURIComponent(evil) } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json.name, `abu-evil-${process.pid}.abu`);
    assert.match(r.json.id, /^[0-9a-f]{16}$/);
    await assert.rejects(fs.access(`/tmp/abu-evil-${process.pid}.abu`));
    assert.equal((await d.call('DELETE', `/api/queue/${r.json.id}`)).status, 200);
    await assertUnchanged();
  });

  it('cancels a download from a server that went silent', async () => {
    const server = await startFaultServer(bundle, { kind: 'stall', afterBytes: 1 << 20 });
    try {
      const pending = d.call('POST', '/api/install-url', { body: { url: server.url() } });
      await waitFor(async () => (await d.call('GET', '/api/status')).json.operation !== null);
      assert.equal((await d.call('POST', '/api/cancel')).status, 200);
      const r = await pending;
      assert.equal(r.status, 409, JSON.stringify(r.json));
      assert.equal(r.json.code, 'ABU_ERR_CANCELLED');
    } finally {
      await server.close();
    }
    await assertUnchanged();
  });

  it('keeps serving after all of that', async () => {
    const r = await d.call('GET', '/api/status');
    assert.equal(r.status, 200);
    assert.equal(bootSummary(r.json), initial);
  });
});

function bootSummary(status: any): string {
  return JSON.stringify({ booted: status.booted, slots: status.slots.map((s: any) => [s.name, s.version, s.state, s.primary]), floor: status.floor });
}

/** An upload written by hand, so a test can stall it or cut it mid-body. */
async function rawUpload(d: SimDaemon, announced: number, part: Buffer): Promise<net.Socket> {
  const url = new URL(d.daemon.url);
  const socket = net.connect(Number(url.port), url.hostname);
  await new Promise((r) => socket.once('connect', r));
  socket.write(`POST /api/install HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${d.daemon.token}\r\ncontent-type: ${OCTETS}\r\ncontent-length: ${announced}\r\n\r\n`);
  socket.write(part);
  return socket;
}

function responseOf(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (b) => {
      text += b.toString('latin1');
      if (/\r\n\r\n[\s\S]*\}/.test(text)) resolve(text);
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 25));
  }
}
