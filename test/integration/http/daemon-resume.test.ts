// A daemon killed (SIGKILL) while installing from a URL, then restarted: installing the same URL again resumes.
// Real `abu serve` processes, a real HTTP server honouring Range that stalls after 90 % of the bundle in the first
// run (a dropped link), a real disk image; both the adaptive install (default) and a full one (checkpoint).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { CHUNK, simBundle } from '../../helpers/adaptive-fixtures';
import { imageBytes, tempDir } from '../../helpers/bundle-fixtures';
import { slotBytes } from '../../helpers/sim-fixture';
import { ABU, background, type Background } from '../../helpers/processes';

const MIB = 1024 * 1024;
const SIZE = 4 * MIB;

describe('a daemon killed mid URL install, restarted, installs the same URL again', function () {
  this.timeout(240_000);
  let dir: { dir: string; cleanup: () => Promise<void> };
  let sim: SimAppliance;
  before(async () => {
    dir = await tempDir('abu-daemon-resume-');
    sim = await createSimAppliance(dir.dir, { slotSize: 6 * MIB, imageSize: SIZE });
  });
  after(async () => dir?.cleanup());

  for (const adaptive of [true, false]) {
    it(`${adaptive ? 'adaptive (default)' : 'full (adaptive=false)'}: the resumed install writes at most 15 % of the image`, async () => {
      const image = imageBytes(SIZE, `daemon resume ${adaptive}`);
      const bundle = await simBundle(sim, image);
      const bundleSize = (await fs.stat(bundle)).size;
      const server = await stallingServer(bundle, Math.floor(bundleSize * 0.9));
      let daemon = await serve(sim);
      try {
        void post(daemon, { url: server.url, activate: false, adaptive }).catch(() => undefined); // never answered: its daemon dies
        // Killed once 80 % of the image is on B (the server stalls at 90 % of the bundle: a dropped link).
        await waitFor(async () => (await slotBytes(sim, 'B', Math.floor(SIZE * 0.8))).equals(image.subarray(0, Math.floor(SIZE * 0.8))));
        await new Promise((r) => setTimeout(r, 300)); // past a checkpoint interval (0.1 s here)
        process.kill(-daemon.child.pid!, 'SIGKILL');
        await new Promise((r) => daemon.child.once('exit', r));
        server.unlimit();
        daemon = await serve(sim);
        const started = server.rangedSent;
        const result = await post(daemon, { url: server.url, activate: false, adaptive });
        assert.equal(result.status, 200, JSON.stringify(result.json));
        const t = result.json.transfer as { fetched: number; copied: number; skipped: number };
        assert.ok(t, 'the result says what was fetched and skipped');
        assert.ok(t.fetched + t.copied <= 0.15 * SIZE, `the resumed install wrote ${t.fetched + t.copied} of ${SIZE} bytes (goal ≤15 %)`);
        // Ranges past the head only: the client cuts the head's request once it has the head, but a server has pushed more into the socket by then.
        if (adaptive) assert.ok(server.rangedSent - started <= 0.15 * bundleSize, `an adaptive resume asks only for what is missing (${server.rangedSent - started} of ${bundleSize} bytes)`);
        assert.ok((await slotBytes(sim, 'B', SIZE)).equals(image), 'B holds the image byte for byte');
        const status = await (await fetch(`${daemon.url}/api/status`)).json() as { slots: { name: string; image: string }[]; resumable: unknown };
        assert.equal(status.slots.find((s) => s.name === 'B')!.image, 'verified');
        assert.equal(status.resumable, null);
      } finally {
        await daemon.stop().catch(() => undefined);
        await server.close();
      }
    });
  }
});

interface Served extends Background {
  url: string;
  token: string;
}

async function serve(sim: SimAppliance): Promise<Served> {
  const config = JSON.parse(await fs.readFile(sim.configPath, 'utf8'));
  config.install = { ...config.install, checkpointSeconds: 0.1 };
  await fs.writeFile(sim.configPath, JSON.stringify(config));
  const d = background(ABU, ['serve', '--config', sim.configPath, '--port', '0', '--json']);
  const info = JSON.parse(await d.waitFor(/^\{/)) as { url: string; token: string };
  return Object.assign(d, info);
}

/** POST /api/install-url: the answer comes when the install ends. */
async function post(d: Served, body: object): Promise<{ status: number; json: any }> {
  const res = await fetch(`${d.url}/api/install-url`, { method: 'POST', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

async function waitFor(check: () => Promise<boolean>, deadlineMs = 120_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('the install never got that far');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Serves the bundle with Range; until unlimit(), sends no byte at or past bundle offset `limit` (the connection stays open, silent). */
async function stallingServer(file: string, limit: number): Promise<{ url: string; bytesSent: number; rangedSent: number; unlimit(): void; close(): Promise<void> }> {
  const bytes = await fs.readFile(file);
  const state = { sent: 0, ranged: 0, limit };
  const server = http.createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] !== '' ? Math.min(Number(m[2]), bytes.length - 1) : bytes.length - 1;
    res.writeHead(m ? 206 : 200, { etag: '"b"', 'accept-ranges': 'bytes', 'content-length': end - start + 1, ...(m ? { 'content-range': `bytes ${start}-${end}/${bytes.length}` } : {}) });
    let at = start;
    const pump = () => {
      while (at <= end && at < state.limit) {
        const n = Math.min(CHUNK, end + 1 - at, state.limit - at);
        state.sent += n;
        if (start > 0) state.ranged += n;
        const ok = res.write(bytes.subarray(at, (at += n)));
        if (!ok) return void res.once('drain', pump);
      }
      if (at > end) res.end();
      else setTimeout(pump, 50); // stalled: the link is down until unlimit()
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/${path.basename(file)}`,
    get bytesSent() { return state.sent; },
    get rangedSent() { return state.ranged; },
    unlimit: () => void (state.limit = Infinity),
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
