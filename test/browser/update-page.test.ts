// The web page in a real browser (Debian chromium via playwright-core) against the real engine on the simulated appliance.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startFaultServer } from '../integration/http/fault-server';
import { startSimDaemon, type SimDaemon } from '../integration/http/sim-daemon';

// Browser globals used inside page.evaluate callbacks; declared here so the DOM lib stays out of the Node build.
declare const document: any;
declare const window: any;
declare const MutationObserver: any;

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts');

describe('web page: upload, progress, activate, restart', function () {
  this.timeout(120_000);
  let d: SimDaemon;
  let browser: Browser;
  let page: Page;

  before(async function () {
    if (!existsSync(CHROMIUM)) this.skip(); // CI installs Debian's chromium; a bare developer machine may not have it
    await fs.mkdir(ARTIFACTS, { recursive: true });
    d = await startSimDaemon();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
    page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
  });
  after(async () => {
    await browser?.close();
    await d?.close();
  });

  it('shows the current image and no alternate release yet', async () => {
    await page.goto(`${d.daemon.url}/#token=${encodeURIComponent(d.daemon.token)}`);
    await page.waitForFunction(() => document.getElementById('current-version')?.textContent === '1.0.0');
    assert.equal(await page.textContent('#alternate-version'), 'no recorded release');
    assert.equal(await page.isDisabled('#activate-btn'), true);
    assert.match((await page.textContent('#conn-text')) ?? '', /live/);
  });

  it('shows a failed download with its error code and changes nothing', async () => {
    const server = await startFaultServer(Buffer.alloc(0), { kind: 'status', status: 404 });
    try {
      await page.fill('#url-input', server.url('/missing-1.1.0.abu'));
      await page.click('#url-btn');
      await page.waitForFunction(() => /ABU_ERR_HTTP_SOURCE/.test(document.getElementById('last-error')?.textContent ?? ''), null, { timeout: 30_000 });
      assert.match((await page.textContent('#log')) ?? '', /404/);
      assert.equal(await page.textContent('#alternate-version'), 'no recorded release');
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-0-download-error.png'), fullPage: true });
    } finally {
      await server.close();
    }
  });

  it('uploads a package and sees progress reach 100 %', async () => {
    await page.setInputFiles('#file-input', d.sim.bundles[0]);
    const phases: string[] = [];
    await page.exposeFunction('recordPhase', (t: string) => phases.push(t));
    await page.evaluate(() => {
      const el = document.getElementById('progress-text')!;
      new MutationObserver(() => (window as any).recordPhase(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
    });
    await page.click('#upload-btn');
    await page.waitForFunction(() => /^done 100 %/.test(document.getElementById('progress-text')?.textContent ?? ''), null, { timeout: 60_000 });
    await page.waitForFunction(() => document.getElementById('alternate-version')?.textContent === '1.1.0');
    assert.ok(phases.some((p) => /^writing \d+ %/.test(p)), `live progress seen: ${phases.join(' | ')}`);
    assert.match((await page.textContent('#log')) ?? '', /slot B holds 1\.1\.0, verified/);
    await page.waitForSelector('#activate-btn:enabled', { timeout: 10_000 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-1-installed.png'), fullPage: true });
  });

  it('activates the alternate image after showing the confirmation, and shows the new state after the restart', async () => {
    await page.click('#activate-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.match((await page.textContent('#confirm-text')) ?? '', /1\.1\.0/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-2-confirm.png') });
    await page.click('#confirm-yes');
    await page.waitForFunction(() => document.getElementById('current-version')?.textContent === '1.1.0', null, { timeout: 60_000 });
    // The restart ends with the boot check confirming the new slot: the page must end up showing it good.
    await page.waitForFunction(() => /^slot B · good/.test(document.getElementById('current-meta')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.equal(await page.textContent('#alternate-version'), '1.0.0');
    const status = (await d.call('GET', '/api/status')).json;
    assert.equal(status.booted, 'B');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-3-after-restart.png'), fullPage: true });
  });

  it('queues the irreversible release and shows its warning before applying', async () => {
    await page.setInputFiles('#file-input', d.sim.bundles[1]);
    await page.click('#queue-btn');
    await page.waitForFunction(() => document.querySelector('#queue-body td')?.textContent === '1.2.0');
    await page.waitForFunction(() => /irreversible/.test(document.getElementById('warning-list')?.textContent ?? ''));
    assert.equal(await page.isHidden('#warnings'), false);
    assert.match((await page.textContent('#queue-body')) ?? '', /ok · irreversible/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-4-queue.png'), fullPage: true });
  });

  it('applies the queue only after the irreversible warning is shown, and ends on 1.2.0', async () => {
    await page.click('#apply-queue-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.match((await page.textContent('#confirm-warnings')) ?? '', /irreversible release/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-5-apply-warning.png') });
    await page.click('#confirm-yes');
    await page.waitForFunction(() => document.getElementById('current-version')?.textContent === '1.2.0', null, { timeout: 60_000 });
    await page.waitForFunction(() => /below the floor/.test(document.getElementById('warning-list')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.equal(await page.isDisabled('#activate-btn'), true, 'the alternate 1.1.0 is below the floor: no activate button');
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-6-after-queue.png'), fullPage: true });
  });
});
