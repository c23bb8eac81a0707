// System test: a primary and an HA pair of nodes as U-Boot QEMU guests on one virtual network. "Activate alternate
// image" at the primary updates the primary first, then the nodes from the primary's replica, never both partners down.
import assert from 'node:assert/strict';
import { qemuAvailable } from '../../harness/qemu';
import { buildImages, type ImageSet } from '../../images/image-set';
import { bundleFor } from './bundles';
import { makeCluster, siteNetworkUnavailable } from './cluster-guests';
import { assertOnNewVersion, assertPulledFromPrimary, assertRebootOrder, bootCluster, runRollout, uploadAndReplicate } from './cluster-steps';
import { recordTiming } from './timings';

describe('system: cluster rollout [uboot]', function () {
  this.timeout(30 * 60_000);
  let images: ImageSet | null = null;
  before(async function () {
    const missing = qemuAvailable() ?? (await siteNetworkUnavailable());
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
      let t = Date.now();
      await bootCluster(guests, netdevArgs);
      recordTiming('cluster: three guests booted', Date.now() - t);

      t = Date.now();
      const up = await uploadAndReplicate(primary, bundle);
      recordTiming('cluster: upload at the primary and replication to 3/3', Date.now() - t);
      await assertPulledFromPrimary([nodeA, nodeB], up.bundle, up.replication);

      t = Date.now();
      const rollout = await runRollout(primary, up.bundle.sha256);
      recordTiming('cluster: rollout (primary, then node-a and node-b one at a time)', Date.now() - t);
      assert.equal(rollout.state, 'succeeded', JSON.stringify(rollout.members));

      await assertOnNewVersion(guests);
      assertRebootOrder(guests);
      passed = true;
    } finally {
      for (const g of guests) await g.app.dispose(passed);
    }
  });
});
