// The web page while an install runs: the alternate image card names the slot being written, and tells the operator
// to install again only once nothing runs (it said "an install did not finish: install again" during every install).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import type { Page } from 'playwright-core';
import { startFaultServer } from '../integration/http/fault-server';
import { startSimDaemon, type SimDaemon } from '../integration/http/sim-daemon';
import { openBrowserPage, settled, shot, status, text, waitText, type BrowserPage } from './browser-helper';

describe('web page: the alternate image while an install writes it', function () {
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

  it('reads "installing…" while the download runs, and "incomplete install: install again" after it was cancelled', async () => {
    const bundle = await fs.readFile(d.sim.bundles[0]);
    // A release server that sends the head and the first 2 MiB, then goes silent: the install stays running, slot B
    // incomplete, until it is cancelled (the seam: a real server does not stall on request).
    const server = await startFaultServer(bundle, { kind: 'stall', afterBytes: 2 * 1024 * 1024 });
    try {
      await page.goto(`${d.daemon.url}/#token=${encodeURIComponent(d.daemon.token)}`);
      await page.fill('#url-input', server.url());
      await page.click('#url-btn');
      for (const end = Date.now() + 30_000; ; ) {
        const s = await status(d);
        if (s.operation && s.slots.find((x: any) => x.name === 'B').image === 'incomplete') break;
        assert.ok(Date.now() < end, `slot B never became incomplete under a running install: ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitText(page, 'alternate-version', /^installing…$/);
      assert.equal(await text(page, 'alternate-meta'), 'slot B · being written by the running install');
      await shot(page, 'web-running-install');
      assert.equal((await d.call('POST', '/api/cancel')).status, 200);
      await settled(d);
      await waitText(page, 'alternate-version', /^incomplete install$/);
      assert.match(await text(page, 'alternate-meta'), /an install did not finish: install again/);
    } finally {
      await server.close();
    }
  });
});
