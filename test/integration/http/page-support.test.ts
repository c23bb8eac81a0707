// What the web page relies on from the daemon: its files, the token check, and when "Activate alternate image" is offered.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { startSimDaemon, type SimDaemon } from './sim-daemon';

describe('abu serve: what the web page relies on', function () {
  this.timeout(60_000);
  let d: SimDaemon;
  before(async () => {
    d = await startSimDaemon();
  });
  after(async () => d?.close());

  it('serves every script the page loads', async () => {
    const html = await (await fetch(d.daemon.url + '/')).text();
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(scripts, ['app.js', 'token.js', 'bundle-head.js', 'actions.js', 'queue.js']);
    for (const s of scripts) {
      const res = await fetch(`${d.daemon.url}/${s}`);
      assert.equal(res.status, 200, s);
      assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    }
  });

  it('an appliance outside a site answers its site pages with a 404 page that says why, not the API\'s JSON', async () => {
    for (const route of ['/site.html', '/cluster.html']) {
      const res = await fetch(d.daemon.url + route);
      assert.equal(res.status, 404);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      const body = await res.text();
      assert.match(body, /not part of a site/);
      assert.match(body, /scripts\/demo --site/);
    }
  });

  it('checks a token without changing anything: 401 with the code for a wrong one, 200 for the right one', async () => {
    const wrong = await d.call('POST', '/api/token-check', { body: {}, auth: 'Bearer stale-token-from-an-earlier-demo' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.json.code, 'ABU_ERR_UNAUTHORIZED');
    assert.equal((await d.call('POST', '/api/token-check', { body: {}, auth: false })).status, 401);
    const right = await d.call('POST', '/api/token-check', { body: {} });
    assert.equal(right.status, 200);
    assert.deepEqual(right.json, { ok: true });
  });

  it('offers to activate an image installed without activating, and again after Keep undid its activation', async () => {
    const empty = (await d.call('GET', '/api/status')).json;
    assert.equal(empty.alternateActivatable, false, 'an empty slot has nothing to activate');
    const install = await d.call('POST', '/api/install?activate=false', { raw: await fs.readFile(d.sim.bundles[0]), type: 'application/octet-stream' });
    assert.equal(install.status, 200, JSON.stringify(install.json));
    assert.equal(install.json.activated, false);
    const installed = (await d.call('GET', '/api/status')).json;
    assert.equal(installed.slots.find((s: any) => s.name === 'B').image, 'verified');
    assert.equal(installed.alternateActivatable, true, 'the 002 flow: install, then "Activate alternate image"');
    assert.equal((await d.call('POST', '/api/activate', { body: {} })).status, 200);
    assert.equal((await d.call('POST', '/api/activate', { body: { slot: 'A' } })).json.changed, true);
    const kept = (await d.call('GET', '/api/status')).json;
    assert.equal(kept.pending, null);
    assert.equal(kept.alternateActivatable, true, 'a kept-back image stays installed and can be activated later');
  });
});
