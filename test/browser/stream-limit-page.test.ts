// The web page when the daemon's event-stream cap refuses its live log: it says so and connects once a slot is free.
import * as http from 'node:http';
import type { Page } from 'playwright-core';
import { startSimDaemon, type SimDaemon } from '../integration/http/sim-daemon';
import { openBrowserPage, waitText, type BrowserPage } from './browser-helper';

describe('web page: event streams over http.limits', function () {
  this.timeout(60_000);
  let d: SimDaemon;
  let b: BrowserPage;
  let page: Page;

  before(async function () {
    const opened = await openBrowserPage();
    if (!opened) this.skip(); // CI installs Debian's chromium; a bare developer machine may not have it
    b = opened;
    page = b.page;
    d = await startSimDaemon({ editConfig: (c) => { c.http = { ...(c.http ?? {}), limits: { eventStreams: 1 } }; } });
  });
  after(async () => {
    await b?.browser.close();
    await d?.close();
  });

  it('shows the live log as reconnecting while refused (503), and goes live once another stream closes', async () => {
    // Another client (no token) holds the one stream the config allows.
    const held = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${d.daemon.url}/api/events`, resolve).on('error', reject);
    });
    await page.goto(d.daemon.url);
    await waitText(page, 'current-version', /^1\.0\.0$/);
    await waitText(page, 'conn-text', /reconnecting/);
    held.destroy();
    await waitText(page, 'conn-text', /^live$/);
  });
});
