// Test helper for the browser suites: Debian's chromium through playwright-core, one page per suite, screenshots, waits on text.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { SimDaemon } from '../integration/http/sim-daemon';

// Browser globals used inside page.evaluate / waitForFunction callbacks; declared so the DOM lib stays out of the Node build.
declare const document: any;

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test-artifacts');

export interface BrowserPage {
  browser: Browser;
  page: Page;
  /** Requests the page sent, as "METHOD /path?query", in order. */
  requests: string[];
}

/** Null when chromium is missing (CI installs Debian's; a bare developer machine may not have it). */
export async function openBrowserPage(): Promise<BrowserPage | null> {
  if (!existsSync(CHROMIUM)) return null;
  await fs.mkdir(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 1100 } });
  page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
  const requests: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    requests.push(`${r.method()} ${u.pathname}${u.search}`);
  });
  return { browser, page, requests };
}

export async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage });
}

/** Waits until the element's text matches. */
export async function waitText(page: Page, id: string, re: RegExp, timeout = 30_000): Promise<void> {
  await page.waitForFunction(
    ([i, src, flags]) => new RegExp(src, flags).test(document.getElementById(i)?.textContent ?? ''),
    [id, re.source, re.flags] as const,
    { timeout },
  );
}

export async function text(page: Page, id: string): Promise<string> {
  return (await page.textContent(`#${id}`)) ?? '';
}

export async function status(d: SimDaemon): Promise<any> {
  for (let i = 0; ; i++) {
    const r = await d.call('GET', '/api/status');
    // A simulated restart rewrites the kernel command line; a read in that instant may fail: ask again.
    if (r.status === 200 || i > 20) return r.json;
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** The status once nothing runs. */
export async function settled(d: SimDaemon, timeoutMs = 20_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(d);
    if (!s.operation || Date.now() > end) return s;
    await new Promise((res) => setTimeout(res, 50));
  }
}
