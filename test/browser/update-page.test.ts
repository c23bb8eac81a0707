// The web page in a real browser (Debian chromium via playwright-core) against the real engine on the simulated appliance:
// tokens, errors where the operator looks, install only or install and restart, keep, restart now, irreversible confirmation.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { Page } from 'playwright-core';
import { startFaultServer } from '../integration/http/fault-server';
import { startSimDaemon, type SimDaemon } from '../integration/http/sim-daemon';
import { openBrowserPage, settled, shot, status, text, waitText, type BrowserPage } from './browser-helper';

declare const document: any;
declare const window: any;

describe('web page: install, activate, keep, restart, errors', function () {
  this.timeout(60_000);
  let d: SimDaemon;
  let b: BrowserPage;
  let page: Page;

  before(async function () {
    const opened = await openBrowserPage();
    if (!opened) this.skip(); // CI installs Debian's chromium; a bare developer machine may not have it
    b = opened;
    page = b.page;
    d = await startSimDaemon();
  });
  after(async () => {
    await b?.browser.close();
    await d?.close();
  });

  it('asks for the token when the saved one is stale and keeps the 401 in the progress card; an empty slot reads "empty"', async () => {
    // The page kept a token from an earlier demo start in localStorage; this daemon made a new one.
    await page.goto(d.daemon.url);
    await page.evaluate(() => window.localStorage.setItem('abu-token', 'stale-token-from-an-earlier-demo'));
    await page.reload();
    await waitText(page, 'current-version', /^1\.0\.0$/);
    assert.equal(await text(page, 'alternate-version'), 'empty');
    assert.equal(await text(page, 'alternate-meta'), 'slot B · nothing installed yet');
    assert.equal(await page.isHidden('#site-nav'), true, 'no System patches / Cluster links on an appliance without a site');

    await page.setInputFiles('#file-input', d.sim.bundles[0]);
    await page.click('#upload-btn');
    await page.waitForSelector('#token-dialog[open]');
    assert.match(await text(page, 'token-reason'), /^ABU_ERR_UNAUTHORIZED: wrong token/);
    assert.match(await text(page, 'op-error'), /^ABU_ERR_UNAUTHORIZED: wrong token/);
    await shot(page, 'web-01-stale-token');
    assert.ok(!b.requests.some((r) => r.startsWith('POST /api/install')), 'the file was never sent with the stale token');

    await page.fill('#token-dialog-input', 'still-not-the-token-0123');
    await page.click('#token-dialog-save');
    await waitText(page, 'token-dialog-error', /ABU_ERR_UNAUTHORIZED/);
    await page.fill('#token-dialog-input', d.daemon.token);
    await page.click('#token-dialog-save');
    await page.waitForSelector('#token-dialog', { state: 'hidden' });
    // Status refreshes must not wipe the failure: it stays until the next operation starts.
    await page.evaluate(() => window.refreshStatus());
    await page.waitForTimeout(300);
    assert.match(await text(page, 'op-error'), /^ABU_ERR_UNAUTHORIZED/);
    assert.match(await text(page, 'progress-text'), /^failed/);
    assert.equal((await status(d)).slots.find((s: any) => s.name === 'B').image, 'empty');
  });

  it('shows a failed download with its code in the progress card and as the current last error', async () => {
    const server = await startFaultServer(Buffer.alloc(0), { kind: 'status', status: 404 });
    try {
      await page.fill('#url-input', server.url('/missing-1.1.0.abu'));
      await page.click('#url-btn');
      await waitText(page, 'op-error', /^ABU_ERR_HTTP_SOURCE: .*404/);
      await waitText(page, 'last-error', /^Last error .*ABU_ERR_HTTP_SOURCE/);
      assert.equal(await page.getAttribute('#last-error', 'class'), 'last-error');
      assert.equal(await text(page, 'alternate-version'), 'empty');
      await shot(page, 'web-02-download-error');
    } finally {
      await server.close();
    }
  });

  it('"Install to alternate image" installs only: the current image keeps booting next, the old error turns past', async () => {
    const phases: string[] = [];
    await page.exposeFunction('recordPhase', (t: string) => phases.push(t));
    await page.evaluate(() => {
      const el = document.getElementById('progress-text');
      new window.MutationObserver(() => window.recordPhase(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
    await page.click('#upload-btn');
    await waitText(page, 'progress-text', /^done 100 % · installed 1\.1\.0 into slot B without activating it/);
    assert.ok(phases.some((p) => /^writing \d+ % · [\d.]+ MiB of 6\.0 MiB/.test(p)), `live progress seen: ${phases.join(' | ')}`);
    assert.equal(await page.isHidden('#op-error'), true, 'a new operation clears the previous failure');
    await waitText(page, 'alternate-version', /^1\.1\.0$/);
    assert.match(await text(page, 'current-meta'), /boots next/);
    assert.equal(await text(page, 'alternate-meta'), 'slot B · installed, not activated');
    assert.equal(await page.isHidden('#next-boot'), true);
    await page.waitForSelector('#activate-btn:enabled');
    await waitText(page, 'last-error', /^Earlier error .*a later operation succeeded.*ABU_ERR_HTTP_SOURCE/);
    assert.equal(await page.getAttribute('#last-error', 'class'), 'last-error past');
    const s = await status(d);
    assert.equal(s.pending, null);
    assert.equal(s.slots.find((x: any) => x.name === 'A').primary, true);
    await shot(page, 'web-03-installed-only');
  });

  it('"Install and restart" confirms, then installs, activates and restarts into the package', async () => {
    await page.click('#upload-restart-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.equal(await text(page, 'confirm-title'), 'Install 1.1.0 and restart?');
    assert.equal(await page.isHidden('#confirm-accept-row'), true, '1.1.0 is not irreversible: no box to tick');
    await page.click('#confirm-yes');
    await waitText(page, 'progress-text', /^done 100 % · restarted · running 1\.1\.0 \(slot B\)$/);
    await waitText(page, 'current-meta', /^slot B · good · boots next/);
    assert.equal(await text(page, 'alternate-version'), '1.0.0');
    assert.ok(b.requests.includes('POST /api/install?reboot=true'), b.requests.join('\n'));
    await shot(page, 'web-04-install-and-restart');
  });

  it('"Install and restart" of an irreversible release needs the box ticked; declining sends nothing', async () => {
    await page.setInputFiles('#file-input', d.sim.bundles[1]);
    const before = b.requests.length;
    await page.click('#upload-restart-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.equal(await text(page, 'confirm-title'), 'Install 1.2.0 and restart?');
    assert.match(await text(page, 'confirm-accept-text'), /1\.2\.0 is irreversible: .*no version older than 1\.2\.0 can ever be installed or activated/);
    assert.equal(await page.isDisabled('#confirm-yes'), true, 'no activation without the explicit confirmation');
    await shot(page, 'web-05-irreversible-install-confirm', false);
    await page.click('#confirm-no');
    await page.waitForTimeout(200);
    assert.deepEqual(b.requests.slice(before).filter((r) => r.startsWith('POST')), [], 'declined: nothing was sent');
    assert.equal((await status(d)).slots.find((x: any) => x.name === 'A').version, '1.0.0');
  });

  it('"Install and restart" from a URL: the refusal of an irreversible release says why and offers the confirmation', async () => {
    const server = await startFaultServer(await fs.readFile(d.sim.bundles[1]), { kind: 'ok' });
    try {
      await page.fill('#url-input', server.url('/abu-demo-appliance-1.2.0.abu'));
      await page.click('#url-restart-btn');
      await page.waitForSelector('#confirm-dialog[open]');
      assert.equal(await page.isHidden('#confirm-accept-row'), true, 'the version is not known before the appliance reads it');
      await page.click('#confirm-yes');
      await waitText(page, 'op-error', /^ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED: 1\.2\.0 is an irreversible release/);
      await page.waitForSelector('#confirm-dialog[open]');
      assert.equal(await text(page, 'confirm-title'), '1.2.0 is an irreversible release');
      assert.equal(await page.isDisabled('#confirm-yes'), true);
      await shot(page, 'web-05b-url-irreversible-refused');
      await page.click('#confirm-no');
      assert.ok(b.requests.some((r) => r === 'POST /api/install-url'));
      const s = await status(d);
      assert.equal(s.slots.find((x: any) => x.name === 'A').version, '1.0.0', 'refused before anything was written');
      assert.equal(s.floor, null);
    } finally {
      await server.close();
    }
  });

  it('Keep current image undoes an activation of the irreversible release; a later restart still runs the current image', async () => {
    await page.click('#upload-btn');
    await waitText(page, 'alternate-version', /^1\.2\.0$/);
    assert.ok(b.requests.includes('POST /api/install?activate=false'));
    // The page shows the release once it is recorded; the install operation (and its lock) ends just after.
    await settled(d);
    // Activated outside the page (abu activate other --accept-irreversible): it waits for a restart.
    assert.equal((await d.call('POST', '/api/activate', { body: { acceptIrreversible: true } })).status, 200);
    await page.waitForSelector('#next-boot', { state: 'visible' });
    assert.match(await text(page, 'next-boot-text'), /^1\.2\.0 \(slot A\) boots next/);
    await page.waitForSelector('#restart-now-btn:enabled');
    await shot(page, 'web-06-pending-restart-now');

    await page.click('#activate-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.match(await text(page, 'confirm-accept-text'), /1\.2\.0 is irreversible/);
    await shot(page, 'web-07-activate-irreversible-confirm', false);
    await page.click('#confirm-no');
    await waitText(page, 'progress-text', /slot B \(1\.1\.0\) boots next; the activation of slot A was undone/);
    await page.waitForSelector('#next-boot', { state: 'hidden' });
    await shot(page, 'web-08-kept');
    const kept = await status(d);
    assert.equal(kept.pending, null);
    assert.equal(kept.slots.find((x: any) => x.name === 'B').primary, true);

    // What the tester saw: a later restart booted 1.2.0 and raised the floor although the operator declined.
    // The restart runs after the 202: wait for its "restart finished" log line on the page, not for a guessed delay.
    const finished = () => page.$$eval('#log li', (lis: any[]) => lis.filter((li) => /restart finished/.test(li.textContent)).length);
    const before = await finished();
    assert.equal((await d.call('POST', '/api/reboot')).status, 202);
    await page.waitForFunction((n) => [...document.querySelectorAll('#log li')].filter((li: any) => /restart finished/.test(li.textContent)).length > n, before, { timeout: 30_000 });
    const after = await settled(d);
    assert.equal(after.booted, 'B');
    assert.equal(after.floor, null);
  });

  it('activates the irreversible release only once its box is ticked, then restarts into it', async () => {
    await page.click('#activate-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.equal(await page.isDisabled('#confirm-yes'), true);
    await page.check('#confirm-accept');
    assert.equal(await page.isDisabled('#confirm-yes'), false);
    await page.click('#confirm-yes');
    await waitText(page, 'progress-text', /^done 100 % · restarted · running 1\.2\.0 \(slot A\)$/);
    await waitText(page, 'current-version', /^1\.2\.0$/);
    assert.ok(b.requests.filter((r) => r === 'POST /api/activate').length >= 2);
    const s = await status(d);
    assert.equal(s.floor, '1.2.0');
    assert.equal(s.booted, 'A');
    await waitText(page, 'warning-list', /below the floor/);
    await shot(page, 'web-09-irreversible-activated');
  });

  it('shows a refused activation with its code and returns to the server\'s idle state', async () => {
    // The alternate 1.1.0 is below the floor now; ask anyway through the page's own code path.
    await page.evaluate(() => window.activateAndRestart({ name: 'B', version: '1.1.0' }, false));
    await waitText(page, 'op-error', /^ABU_ERR_BELOW_FLOOR: /);
    assert.equal(await text(page, 'op-name'), 'Activate 1.1.0 and restart', 'not "Running: ...": the server runs nothing');
    assert.equal(await page.isDisabled('#activate-btn'), true);
    assert.equal(await page.isDisabled('#upload-btn'), false, 'the page is idle again');
  });

  it('shows the live log as reconnecting while the event-stream cap refuses it (503), and goes live once a slot frees', async () => {
    // Its own daemon, whose http.limits allow one event stream; another client (no token) holds it.
    const limited = await startSimDaemon({ editConfig: (c) => { c.http = { ...(c.http ?? {}), limits: { eventStreams: 1 } }; } });
    const held = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${limited.daemon.url}/api/events`, resolve).on('error', reject);
    });
    try {
      await page.goto(limited.daemon.url);
      await waitText(page, 'current-version', /^1\.0\.0$/);
      await waitText(page, 'conn-text', /reconnecting/);
      held.destroy();
      await waitText(page, 'conn-text', /^live$/);
    } finally {
      held.destroy();
      await limited.close();
    }
  });

  // During an install the alternate image card said "an install did not finish: install again"; on its own appliance.
  describe('the alternate image while an install writes it', () => {
    let w: SimDaemon;
    before(async () => {
      w = await startSimDaemon();
    });
    after(async () => w?.close());

    it('reads "installing…" while the download runs, and "incomplete install: install again" after it was cancelled', async () => {
      const bundle = await fs.readFile(w.sim.bundles[0]);
      // A release server that sends the head and the first 2 MiB, then goes silent: the install stays running, slot B
      // incomplete, until it is cancelled (the seam: a real server does not stall on request).
      const server = await startFaultServer(bundle, { kind: 'stall', afterBytes: 2 * 1024 * 1024 });
      try {
        await page.goto(`${w.daemon.url}/#token=${encodeURIComponent(w.daemon.token)}`);
        await page.fill('#url-input', server.url());
        await page.click('#url-btn');
        for (const end = Date.now() + 30_000; ; ) {
          const s = await status(w);
          if (s.operation && s.slots.find((x: any) => x.name === 'B').image === 'incomplete') break;
          assert.ok(Date.now() < end, `slot B never became incomplete under a running install: ${JSON.stringify(s)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        await waitText(page, 'alternate-version', /^installing…$/);
        assert.equal(await text(page, 'alternate-meta'), 'slot B · being written by the running install');
        await shot(page, 'web-running-install');
        assert.equal((await w.call('POST', '/api/cancel')).status, 200);
        await settled(w);
        await waitText(page, 'alternate-version', /^incomplete install$/);
        assert.match(await text(page, 'alternate-meta'), /an install did not finish: install again/);
      } finally {
        await server.close();
      }
    });
  });
});
