// The web page's package queue in a real browser (Debian chromium via playwright-core) on the simulated appliance:
// Apply disabled while a row has a problem, duplicates refused, Restart now, the irreversible confirmation, the running row.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import type { Page } from 'playwright-core';
import { startSimDaemon, type SimDaemon } from '../integration/http/sim-daemon';
import { openBrowserPage, shot, status, text, waitText, type BrowserPage } from './browser-helper';

declare const document: any;

describe('web page: package queue and restart now', function () {
  this.timeout(60_000);
  let d: SimDaemon;
  let b: BrowserPage;
  let page: Page;

  before(async function () {
    const opened = await openBrowserPage();
    if (!opened) this.skip(); // CI installs Debian's chromium; a bare developer machine may not have it
    b = opened;
    page = b.page;
    // A health check that takes a second keeps each restart, and so the running row, on screen long enough to see.
    d = await startSimDaemon({ editConfig: (c) => c.healthChecks.push({ name: 'slow', command: 'sleep 1', timeoutSeconds: 10 }) });
    await page.goto(`${d.daemon.url}/#token=${encodeURIComponent(d.daemon.token)}`);
    await waitText(page, 'current-version', /^1\.0\.0$/);
  });
  after(async () => {
    await b?.browser.close();
    await d?.close();
  });

  it('keeps Apply disabled while a queued package has a problem', async () => {
    await page.setInputFiles('#file-input', d.sim.bundles[1]);
    await page.click('#queue-btn');
    await page.waitForFunction(() => document.querySelector('#queue-body td')?.textContent === '1.2.0');
    assert.match(await page.textContent('#queue-body tr td:nth-child(4)') ?? '', /1\.1\.0/, '1.2.0 needs 1.1.0 first');
    assert.equal(await page.isDisabled('#apply-queue-btn'), true);
    assert.equal(await page.getAttribute('#apply-queue-btn', 'title'), 'a queued package has a problem: see its Check column');
  });

  it('offers "Restart now" when an install waits for a restart, and the queue re-checks against the new version', async () => {
    // Installed and activated outside the page (abu install, which activates by default): it waits for a restart.
    const r = await d.call('POST', '/api/install', { raw: await fs.readFile(d.sim.bundles[0]), type: 'application/octet-stream' });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await page.waitForSelector('#next-boot', { state: 'visible' });
    assert.match(await text(page, 'next-boot-text'), /^1\.1\.0 \(slot B\) boots next, on trial\. The appliance runs 1\.0\.0 until it restarts/);
    await shot(page, 'web-10-queue-problem-and-restart-now');
    await page.click('#restart-now-btn');
    await waitText(page, 'progress-text', /^done 100 % · restarted · running 1\.1\.0 \(slot B\)$/);
    assert.equal(await page.isHidden('#next-boot'), true);
    await page.waitForFunction(() => document.querySelector('#queue-body tr td:nth-child(4)')?.textContent === 'ok · irreversible');
    await page.waitForSelector('#apply-queue-btn:enabled');
  });

  it('refuses a second package of a queued version, with the code in the progress card', async () => {
    await page.click('#queue-btn');
    await waitText(page, 'op-error', /^ABU_ERR_QUEUE_DUPLICATE: the queue already holds version 1\.2\.0/);
    assert.equal(await page.locator('#queue-body tr').count(), 1);
    await shot(page, 'web-11-queue-duplicate');
  });

  it('applies an irreversible queue only once its box is ticked, showing the running row without Remove', async () => {
    await page.click('#apply-queue-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.match(await text(page, 'confirm-accept-text'), /1\.2\.0 is irreversible/);
    assert.equal(await page.isDisabled('#confirm-yes'), true);
    await page.click('#confirm-no');
    assert.ok(!b.requests.includes('POST /api/queue/apply'), 'declined: nothing was sent');

    await page.click('#apply-queue-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.check('#confirm-accept');
    await page.click('#confirm-yes');
    await page.waitForSelector('#queue-body tr.running', { timeout: 20_000 });
    assert.equal(await page.textContent('#queue-body tr.running td:nth-child(4)'), 'applying now…');
    assert.equal(await page.isDisabled('#queue-body tr.running button.remove'), true);
    assert.equal(await page.isDisabled('#apply-queue-btn'), true);
    await shot(page, 'web-12-queue-running');
    await waitText(page, 'current-version', /^1\.2\.0$/);
    await page.waitForFunction(() => document.querySelector('#queue-body td')?.textContent === 'No packages queued.', null, { timeout: 20_000 });
    await waitText(page, 'progress-text', /^done 100 % · queue applied · running 1\.2\.0$/);
    const s = await status(d);
    assert.equal(s.floor, '1.2.0');
    await shot(page, 'web-13-queue-applied');
  });
});
