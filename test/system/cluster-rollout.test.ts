// System test: a primary and an HA pair of nodes as U-Boot QEMU guests on one virtual network. "Activate alternate
// image" at the primary updates the primary first, then the nodes from the primary's replica, never both partners down.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { qemuAvailable } from '../../harness/qemu';
import { buildImages, type ImageSet } from '../../images/image-set';
import { BOOT_TIMEOUT_MS } from './appliance';
import { bundleFor } from './bundles';
import { downIntervals, lineTime, makeCluster, overlaps, type ClusterGuest } from './cluster-guests';
import { send, waitForService } from './http-guest-abu';
import { recordTiming } from './timings';

/** TCG on a shared 2-core host: three guests boot, install and reboot at once. */
const STEP_TIMEOUT_MS = 10 * 60_000;

async function call(g: ClusterGuest, method: string, route: string, body?: Buffer | fs.ReadStream, type?: string): Promise<any> {
  const r = await send(g.app, method, route, body, type);
  if (r.status < 200 || r.status > 299) throw new Error(`${g.name} ${method} ${route}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (e) {
      last = e; // the coordinator itself reboots during the rollout
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${String(last)}`);
    await delay(1000);
  }
}

describe('system: cluster rollout [uboot]', function () {
  this.timeout(30 * 60_000);
  let images: ImageSet | null = null;
  before(function () {
    const missing = qemuAvailable();
    if (missing !== null) {
      console.warn(`  pending: ${missing}`);
      this.skip();
    }
    images = buildImages();
  });

  it('activates 1.1.0 at the primary first, then the HA pair one at a time from the primary\'s replica', async () => {
    const bundle = bundleFor(images!, { rootfs: 'good-1.1.0', predecessor: '1.0.0' });
    const { guests, netdevArgs } = makeCluster(images!);
    const [primary, nodeA, nodeB] = guests;
    let passed = false;
    try {
      const started = Date.now();
      await Promise.all(guests.map((g) => g.app.boot('cluster', [g.siteDisk], netdevArgs(g))));
      for (const g of guests) {
        assert.deepEqual(await g.app.waitBooted(BOOT_TIMEOUT_MS * 3), { slot: 'A', version: '1.0.0' }, g.name);
        await g.app.running().waitForLine(new RegExp(`^INIT: site disk .* address=${g.address.replace(/\./g, '\\.')}/24`), BOOT_TIMEOUT_MS);
        await waitForService(g.app, BOOT_TIMEOUT_MS * 3);
      }
      recordTiming('cluster: three guests booted', Date.now() - started);

      // Upload at the primary: it verifies the bundle, then pushes it to both nodes over the site network.
      let t = Date.now();
      const up = await call(primary, 'POST', '/api/site/bundles', fs.createReadStream(bundle), 'application/octet-stream');
      const sha: string = up.bundle.sha256;
      const rep = await until('replication 3/3', STEP_TIMEOUT_MS, async () => {
        const r = (await call(primary, 'GET', `/api/site/bundles/${sha}`)).replication;
        if (r.members.some((m: any) => m.state === 'failed')) throw new Error(`replication failed: ${JSON.stringify(r.members)}`);
        return r.replications === '3/3' ? r : null;
      });
      recordTiming('cluster: upload and replication of 1.1.0 to 3/3', Date.now() - t);
      for (const n of [nodeA, nodeB]) {
        const m = rep.members.find((x: any) => x.member === n.name);
        // The node's bytes came from the primary over the site network, and the node verified them itself.
        assert.deepEqual([m.via, m.state, m.have], ['primary', 'verified', up.bundle.size], n.name);
        assert.ok(m.bytesSent >= up.bundle.size, `${n.name}: the primary sent it the whole bundle (${m.bytesSent} bytes)`);
        const held = await call(n, 'GET', '/api/site/peer/replicas');
        assert.ok(held.replicas.some((r: any) => r.sha256 === sha), `${n.name} holds the replica: ${JSON.stringify(held)}`);
      }

      t = Date.now();
      const begin = await call(primary, 'POST', '/api/cluster/activate', Buffer.from(JSON.stringify({ bundle: sha })), 'application/json');
      assert.equal(begin.rollout.ha, true);
      assert.deepEqual(begin.rollout.order, ['primary', 'node-a', 'node-b']);
      const rollout = await until('the rollout to end', STEP_TIMEOUT_MS * 2, async () => {
        const r = (await call(primary, 'GET', '/api/cluster/rollout')).rollout;
        return r && r.state !== 'running' && r.state !== 'stopping' ? r : null;
      });
      recordTiming('cluster: rollout (primary, then node-a and node-b one at a time)', Date.now() - t);
      assert.equal(rollout.state, 'succeeded', JSON.stringify(rollout.members));

      // All three on the new version, confirmed by their own boot-check.
      for (const g of guests) {
        const s = await waitForService(g.app);
        const booted = s.slots.find((x) => x.name === s.booted)!;
        assert.deepEqual([g.name, s.booted, booted.version, booted.state, s.pending], [g.name, 'B', '1.1.0', 'good', null]);
        const kinds = (await call(g, 'GET', '/api/history?limit=100')).entries.map((e: any) => `${e.kind} ${e.slot}`);
        assert.ok(kinds.includes('install B') && kinds.includes('mark-good B'), `${g.name} installed and confirmed B: ${kinds.join(', ')}`);
      }

      // From the serial consoles: each guest went down exactly once; the primary was back and confirmed before any node went down.
      const down = new Map(guests.map((g) => [g.name, downIntervals(g.app.running().console.lines, g.app.running().console.times)] as const));
      for (const g of guests) assert.equal(down.get(g.name)!.length, 1, `${g.name} rebooted once: ${JSON.stringify(down.get(g.name))}`);
      const c = primary.app.running().console;
      const primaryConfirmed = lineTime(c.lines, c.times, /^BOOT-CHECK rc=0/, down.get('primary')![0].from);
      assert.ok(primaryConfirmed !== null, 'the primary\'s boot-check confirmed 1.1.0');
      for (const n of [nodeA, nodeB]) {
        const from = down.get(n.name)![0].from;
        assert.ok(from > primaryConfirmed!, `${n.name} went down (${new Date(from).toISOString()}) after the primary was confirmed (${new Date(primaryConfirmed!).toISOString()})`);
      }
      assert.equal(overlaps(down.get('node-a')!, down.get('node-b')!), false, `the HA partners were down together: ${JSON.stringify([...down])}`);
      passed = true;
    } finally {
      for (const g of guests) await g.app.dispose(passed);
    }
  });
});
