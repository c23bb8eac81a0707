// A coordinator SIGKILLed in the middle of an announced upload (real `abu serve` daemons on simulated appliances):
// restarted, its bundle store's budget is whole again, the member drops what it pulled, and the next upload works.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createSimSite } from '../../../engine/sim/sim-site';
import { tempDir } from '../../helpers/bundle-fixtures';
import { waitFor } from '../lock/appliance-procs';
import { SiteDaemons } from './site-cases';

const MIB = 1024 * 1024;

describe('a coordinator killed mid announced upload', function () {
  this.timeout(180_000);
  let root: { dir: string; cleanup: () => Promise<void> };
  let d: SiteDaemons | null = null;
  before(async () => (root = await tempDir('abu-interrupted-upload-')));
  after(async () => {
    await d?.stopAll();
    await root.cleanup();
  });

  it('leaves no partial file behind on either member after its restart, and the next upload fits the budget', async () => {
    const site = await createSimSite(`${root.dir}/site`, {
      members: [
        { name: 'c', dataCenter: 'dc1', role: 'primary', organizations: ['acme'] },
        { name: 'n', dataCenter: 'dc1', role: 'secondary', organizations: ['acme'] },
      ],
      extra: { replication: { maxBytesPerSecond: null, retryBaseMs: 200, retryMaxMs: 1000, maxAttempts: 500 } },
    });
    const [bundle, next] = await Promise.all(site.bundles.slice(0, 2).map((b) => fs.readFile(b)));
    // Room for the next bundle and a quarter of the first: the half of it a crash leaves does not fit beside it.
    const held = Math.floor(bundle.length / 2);
    const siteFile = path.join(site.dir, 'site.json');
    const described = JSON.parse(await fs.readFile(siteFile, 'utf8'));
    await fs.writeFile(siteFile, JSON.stringify({ ...described, bundleBudgetBytes: next.length + Math.floor(held / 2) }));
    d = new SiteDaemons(site);
    const daemons = d;
    const c = await daemons.start('c');
    await daemons.start('n');
    const sha = createHash('sha256').update(bundle).digest('hex');
    const files = (name: 'c' | 'n') => path.join(daemons.member(name).sim.dir, 'state', 'bundles');
    const size = (name: 'c' | 'n', ext: string) => fs.stat(path.join(files(name), `${sha}.${ext}`)).then((s) => s.size, () => -1);

    // Half the bundle, announced whole; the rest never comes: the coordinator dies while it waits for it.
    const upload = announcedUpload(daemons.member('c').url, daemons.member('c').operatorToken, bundle, sha, held);
    await waitFor('the coordinator to hold what was sent', async () => (await size('c', 'part')) >= held, 60_000);
    await waitFor('the member to pull part of it', async () => (await size('n', 'part')) > 0, 60_000);
    c.child.kill('SIGKILL');
    await c.exit;
    await upload;
    assert.ok((await size('c', 'part')) >= held, 'the kill left the partial upload (the case this test is about)');

    await daemons.start('c');
    assert.equal(await size('c', 'part'), -1, "the restarted coordinator dropped the dead upload's partial file");
    await waitFor('the member to drop what it pulled of the dead upload', async () => (await size('n', 'part')) === -1 && (await size('n', 'part.json')) === -1, 60_000);

    // The next upload fits in the budget on both members and replicates.
    const meta = await daemons.api('c', 'POST', '/api/site/bundles', next);
    await waitFor('the next bundle verified on both members', async () => (await daemons.api('c', 'GET', `/api/site/bundles/${meta.bundle.sha256}`)).replication?.replications === '2/2', 90_000);
  });
});

/** POST /api/site/bundles announcing the whole bundle, sending its first `send` bytes and then nothing; settles when the connection dies. */
function announcedUpload(url: string, token: string, bundle: Buffer, sha: string, send: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(`${url}/api/site/bundles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': bundle.length, 'x-abu-bundle-sha256': sha },
    }, (res) => {
      res.resume();
      res.on('close', () => resolve());
    });
    req.on('error', () => resolve());
    req.write(bundle.subarray(0, send));
  });
}
