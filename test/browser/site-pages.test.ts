// The System patches and Cluster pages in a real browser (Debian chromium via playwright-core) against the demo site
// (engine/sim/sim-site.ts: seven real `abu serve` daemons on loopback ports, two data centers of two appliances and a
// three-node cluster with one HA pair). Screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createSimSite, type SimSite } from '../../engine/sim/sim-site';
import { startSimSiteDaemons, type SimSiteDaemons } from '../../engine/sim/sim-site-daemons';

declare const document: any;
declare const getComputedStyle: any;

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts');
/** Down while the patch replicates, so its replica stays incomplete. */
const DOWN = 'dc2-secondary';

describe('web pages: System patches and Cluster (demo site, seven daemons)', function () {
  this.timeout(90_000);
  let dir = '';
  let site: SimSite;
  let daemons: SimSiteDaemons;
  let browser: Browser;
  let page: Page;
  const coordinatorUrl = () => site.members[0].url;

  before(async function () {
    if (!existsSync(CHROMIUM)) this.skip(); // CI installs Debian's chromium; a bare developer machine may not have it
    await fs.mkdir(ARTIFACTS, { recursive: true });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-site-pages-'));
    site = await createSimSite(dir, { slotSize: 4 * 1024 * 1024, imageSize: 3 * 1024 * 1024, extra: { replication: { retryBaseMs: 200, retryMaxMs: 500 }, rollout: { pollMs: 100 } } });
    daemons = await startSimSiteDaemons(site);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
  });
  after(async () => {
    await browser?.close();
    await daemons?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('the coordinator\'s update page links to System patches and Cluster', async () => {
    await page.goto(`${coordinatorUrl()}/`);
    await page.waitForSelector('#site-nav:not([hidden])');
    assert.deepEqual(await page.$$eval('#site-nav a', (as: any[]) => as.map((a) => a.getAttribute('href'))), ['/site.html', '/cluster.html']);
  });

  it('System patches: takes the token from the link, uploads a patch and shows Replications n/m', async () => {
    await daemons.kill(DOWN);
    await page.goto(`${coordinatorUrl()}/site.html#token=${encodeURIComponent(site.members[0].operatorToken)}`);
    await page.waitForFunction(() => document.getElementById('member-body').rows.length === 7);
    assert.match(await page.textContent('#site-name') ?? '', /coordinator dc1-primary/);
    assert.match(await rowText(page, '#member-body', DOWN), /not answering/);
    await page.setInputFiles('#patch-file', site.bundles[0]);
    await page.click('#patch-upload');
    await page.waitForFunction(() => /1\.1\.0/.test(document.getElementById('upload-text').textContent));
    // The page only shows what the coordinator reports: six verified, the seventh (down) not.
    await page.waitForFunction(() => /^6\/7/.test(document.querySelector('#patch-body tr td:nth-child(4)')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.equal(await page.getAttribute('#patch-body tr td:nth-child(4)', 'class'), 'warn-text');
    assert.equal(await page.textContent('#last-error'), '');
    await page.screenshot({ path: path.join(ARTIFACTS, 'site-1-replications.png'), fullPage: true });
  });

  it('System patches: organizations with checkboxes and a Data Center choice (default All); the incomplete replica is named', async () => {
    await page.click('#patch-body a');
    await page.waitForFunction(() => document.getElementById('org-body').rows.length >= 3);
    const orgs = await page.$$eval('#org-body tr', (rows: any[]) => rows.map((r) => ({ name: r.cells[1].textContent, checked: r.querySelector('input[type=checkbox]').checked, dc: r.querySelector('select').value, choices: [...r.querySelector('select').options].map((o: any) => o.text) })));
    assert.deepEqual(orgs.map((o) => o.name), ['acme', 'globex', 'initech']);
    for (const o of orgs) assert.deepEqual([o.checked, o.dc, o.choices], [false, 'all', ['All', 'dc1', 'dc2', 'cluster']], o.name);
    await page.check('#org-body tr:nth-child(2) input[type=checkbox]');
    await page.click('#install-btn');
    await page.waitForFunction(() => document.getElementById('install-result').children.length >= 3, null, { timeout: 30_000 });
    const lines = await page.$$eval('#install-result li', (li: any[]) => li.map((x) => x.textContent));
    assert.ok(lines.some((l) => /^Warning: replication is not complete on dc2-secondary/.test(l)), lines.join('\n'));
    assert.ok(lines.includes('dc1-primary: installed 1.1.0, restarts into it on the next boot'), lines.join('\n'));
    assert.ok(lines.includes('dc2-primary: installed 1.1.0, restarts into it on the next boot'), lines.join('\n'));
    // Each line in its own colour: installed green, the warning amber (not everything amber).
    const colours = await page.evaluate(() => {
      const of = (cls: string) => {
        const probe = document.body.appendChild(Object.assign(document.createElement('span'), { className: cls }));
        const c = getComputedStyle(probe).color;
        probe.remove();
        return c;
      };
      const lines = [...document.querySelectorAll('#install-result li')];
      const colour = (re: RegExp) => getComputedStyle(lines.find((li: any) => re.test(li.textContent))).color;
      return { installed: colour(/installed/), warning: colour(/^Warning/), ok: of('ok-text'), warn: of('warn-text') };
    });
    assert.deepEqual([colours.installed, colours.warning], [colours.ok, colours.warn]);
    assert.notEqual(colours.ok, colours.warn);
    await page.screenshot({ path: path.join(ARTIFACTS, 'site-2-install-warning.png'), fullPage: true });
    await daemons.start(DOWN);
    await page.waitForFunction(() => /^7\/7/.test(document.querySelector('#patch-body tr td:nth-child(4)')?.textContent ?? ''), null, { timeout: 30_000 });
  });

  it('Cluster: HA mode checked by default, then Update status per node until every node is healthy on the new version', async () => {
    await page.goto(`${coordinatorUrl()}/cluster.html`);
    await page.waitForFunction(() => document.getElementById('node-body').rows.length === 7);
    assert.equal(await page.isChecked('#ha-mode'), true);
    assert.match(await page.textContent('#bundle-choice') ?? '', /1\.1\.0 \(7\/7 replicated\)/);
    await page.click('#activate-btn');
    // Live: some node is shown on its way (waiting, rebooting, ...) before the end.
    await page.waitForFunction(() => /Activating 1\.1\.0 in high-availability mode: running/.test(document.getElementById('rollout-state').textContent));
    await page.screenshot({ path: path.join(ARTIFACTS, 'cluster-1-running.png'), fullPage: true });
    await page.waitForFunction(() => /: succeeded$/.test(document.getElementById('rollout-state').textContent), null, { timeout: 60_000 });
    const rows = await page.$$eval('#node-body tr', (trs: any[]) => trs.map((tr) => [...tr.cells].map((c: any) => c.textContent)));
    assert.equal(rows[0][0], 'dc1-primary', 'the coordinator goes first');
    for (const r of rows) assert.match(r[4], /^(healthy on|already running) 1\.1\.0$/, r.join(' | '));
    assert.deepEqual(rows.filter((r) => r[3] === 'ha1').map((r) => r[0]), ['cluster-2', 'cluster-3']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'cluster-2-done.png'), fullPage: true });
  });

  it('a phone-sized window: no page scrolls sideways (a wide table scrolls inside its card)', async () => {
    const narrow = await browser.newPage({ viewport: { width: 380, height: 800 } });
    try {
      for (const p of ['/', '/site.html', '/cluster.html']) {
        await narrow.goto(`${coordinatorUrl()}${p}#token=${encodeURIComponent(site.members[0].operatorToken)}`);
        if (p !== '/') await narrow.waitForFunction(() => (document.querySelector('tbody')?.rows.length ?? 0) > 0);
        const [scroll, inner] = await narrow.evaluate(() => [document.documentElement.scrollWidth, (globalThis as any).innerWidth]);
        assert.ok(scroll <= inner, `${p}: the page is ${scroll} px wide in a ${inner} px window`);
        await narrow.screenshot({ path: path.join(ARTIFACTS, `narrow-${p === '/' ? 'update' : p.replace(/\W+/g, '-').slice(1)}.png`), fullPage: true });
      }
    } finally {
      await narrow.close();
    }
  });
});

async function rowText(page: Page, body: string, first: string): Promise<string> {
  return page.$$eval(`${body} tr`, (trs: any[], name: string) => trs.find((tr) => tr.cells[0].textContent === name)?.textContent ?? '', first);
}
