// One site for the whole cluster suite: started by the first suite that asks, stopped when mocha's root after runs.
import { startSite, type SiteHarness } from './site-harness';

let started: Promise<SiteHarness> | null = null;
let current: SiteHarness | null = null;

/** Registers a before() that starts (or reuses) the site; returns an accessor for the tests. */
export function sharedSite(): () => SiteHarness {
  before(async function () {
    this.timeout(120_000);
    if (!started) {
      started = startSite({ downtimeMs: 700, maxBytesPerSecond: 1024 * 1024 });
      process.stderr.write(`      network: ${(await started).net.link}\n`);
    }
    current = await started;
  });
  return () => current!;
}

// Root-level hook: runs once after every suite of this run.
after(async function () {
  this.timeout(30_000);
  const h = await started?.catch(() => null);
  const link = await h?.net.linkStats().catch(() => null);
  if (link) process.stderr.write(`      inter-data-center link over the suite: ${link.received} packets, ${link.dropped} dropped\n`);
  await h?.teardown();
});
