// The package queue over HTTP on the simulated appliance: duplicates refused on arrival, the running row, removal of it refused.
import assert from 'node:assert/strict';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { startSimDaemon, type SimDaemon } from './sim-daemon';

describe('abu serve: package queue', function () {
  this.timeout(60_000);
  let d: SimDaemon;
  afterEach(async () => d?.close());

  const add = async (file: string) => d.call('POST', '/api/queue', { raw: await fs.readFile(file), type: 'application/octet-stream', headers: { 'x-abu-filename': path.basename(file) } });
  const spool = () => path.join(d.sim.dir, 'state', 'queue');

  it('refuses a second package of a queued version with ABU_ERR_QUEUE_DUPLICATE and keeps nothing of it', async () => {
    d = await startSimDaemon();
    const first = await add(d.sim.bundles[0]);
    assert.equal(first.status, 201, JSON.stringify(first.json));
    const again = await add(d.sim.bundles[0]);
    assert.equal(again.status, 409, JSON.stringify(again.json));
    assert.equal(again.json.code, 'ABU_ERR_QUEUE_DUPLICATE');
    assert.match(again.json.message, /already holds version 1\.1\.0/);
    assert.deepEqual(again.json.details, { version: '1.1.0', id: first.json.id });
    // The broken 1.1.0 is another file of the same version: refused the same way.
    assert.equal((await add(d.sim.brokenBundle)).json.code, 'ABU_ERR_QUEUE_DUPLICATE');
    const q = (await d.call('GET', '/api/queue')).json;
    assert.deepEqual(q.items.map((i: any) => i.id), [first.json.id]);
    assert.deepEqual((await fs.readdir(spool())).sort(), [`${first.json.id}.abu`, `${first.json.id}.json`]);
  });

  it('queues exactly one of two uploads of one version sent at the same time', async () => {
    d = await startSimDaemon();
    const answers = await Promise.all([add(d.sim.bundles[0]), add(d.sim.bundles[0])]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409], JSON.stringify(answers.map((a) => a.json)));
    assert.equal((await d.call('GET', '/api/queue')).json.items.length, 1);
  });

  it('tells pages which package is being applied, and refuses to remove that one', async () => {
    // A health check that takes a second keeps each restart, and so the running row, visible long enough to look at.
    d = await startSimDaemon({ editConfig: (c) => c.healthChecks.push({ name: 'slow', command: 'sleep 1', timeoutSeconds: 10 }) });
    const ids = [(await add(d.sim.bundles[0])).json.id, (await add(d.sim.bundles[1])).json.id];
    // Pages reload the queue on its events: one must come when the marker moves to a package, or no row shows it.
    const markerAtEvent: (string | null)[] = [];
    const marker = path.join(spool(), 'applying');
    const stop = d.daemon.ctx.hub.listen((e) => {
      if (e.type === 'queue') markerAtEvent.push(existsSync(marker) ? readFileSync(marker, 'utf8').trim() : null);
    });
    try {
      assert.equal((await d.call('POST', '/api/queue/apply', { body: { acceptIrreversible: true } })).status, 202);
      const running = await waitFor(async () => {
        const q = (await d.call('GET', '/api/queue')).json;
        return q.running ? q : null;
      });
      assert.equal(running.running, ids[0], 'the first package in version order runs first');
      assert.equal(running.applying, true);
      const remove = await d.call('DELETE', `/api/queue/${ids[0]}`);
      assert.equal(remove.status, 409);
      assert.equal(remove.json.code, 'ABU_ERR_BUSY');
      const done = await waitFor(async () => {
        const q = (await d.call('GET', '/api/queue')).json;
        return !q.applying && q.items.length === 0 ? q : null;
      });
      assert.equal(done.running, null);
    } finally {
      stop();
    }
    assert.ok(markerAtEvent.includes(ids[0]) && markerAtEvent.includes(ids[1]), `queue events saw the marker at: ${JSON.stringify(markerAtEvent)}`);
    assert.equal((await d.call('GET', '/api/status')).json.slots.find((s: any) => s.booted).version, '1.2.0');
  });
});

async function waitFor<T>(probe: () => Promise<T | null>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
