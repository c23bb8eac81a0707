// Installs onto real block devices: the simulated appliance's disk image attached as a loop device with partitions.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isAbuError } from '../../../engine/core/errors';
import { createEngine, type AbuEngine } from '../../../engine/engine';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { FileSource } from '../../../engine/sources/file-source';
import { zstdBundleFor } from '../../helpers/compressed-fixtures';
import { loopAppliance, whyNoLoop } from '../../helpers/loop-appliance';
import { slotHash } from '../../helpers/sim-fixture';

describe('install onto loop block devices (root)', function () {
  this.timeout(120_000);
  let sim: SimAppliance;
  let loop = '';
  let cleanup: () => Promise<void> = async () => undefined;

  before(async function () {
    if (whyNoLoop()) return this.skip(); // CI runs as root with loop devices; see README
    ({ sim, loop, cleanup } = await loopAppliance('abu-loop-'));
  });
  after(async () => cleanup());

  it('writes B through /dev/loopNp3, leaves A alone, and boots it', async () => {
    const engine = await createEngine(sim.configPath);
    const aBefore = await slotHash(sim, 'A');
    const result = await engine.install(new FileSource(sim.bundles[0]));
    assert.equal(result.slot, 'B');
    execFileSync('sync');
    assert.equal(await slotHash(sim, 'A'), aBefore);
    const image = await fs.readFile(path.join(sim.dir, 'images', 'rootfs-1.1.0.img'));
    const onDevice = Buffer.alloc(image.length);
    const fh = await fs.open(`${loop}p3`, 'r');
    await fh.read(onDevice, 0, image.length, 0);
    await fh.close();
    assert.ok(onDevice.equals(image), 'the partition holds the image');
    await engine.reboot();
    assert.equal((await engine.status()).booted, 'B');
  });

  it('decompresses a zstd bundle into /dev/loopNp2 (B is booted now) with O_DIRECT and reads it back', async () => {
    const { image, bundle } = await zstdBundleFor(sim, 6 * 1024 * 1024 - 4096 + 123, 1024 * 1024, { version: '1.1.1', from: '1.1.0' });
    const engine = await createEngine(sim.configPath);
    const bBefore = await slotHash(sim, 'B');
    assert.equal((await engine.install(new FileSource(bundle), { activate: false })).slot, 'A');
    execFileSync('sync');
    const onDevice = Buffer.alloc(image.length);
    const fh = await fs.open(`${loop}p2`, 'r');
    await fh.read(onDevice, 0, image.length, 0);
    await fh.close();
    assert.ok(onDevice.equals(image), 'the partition holds the decompressed image');
    assert.equal(await slotHash(sim, 'B'), bBefore, 'the booted slot is untouched');
    assert.ok((await fs.stat(bundle)).size < image.length / 2, 'the bundle was compressed');
  });

  it('refuses a target that names the booted slot through another path (whole disk + partition)', async () => {
    const config = JSON.parse(await fs.readFile(sim.configPath, 'utf8'));
    // The appliance now runs B (/dev/loopNp3); point A at the same bytes via the whole disk's partition 3.
    config.slots[0].targets.rootfs = { device: loop, partition: 3 };
    await fs.writeFile(sim.configPath, JSON.stringify(config));
    const engine: AbuEngine = await createEngine(sim.configPath);
    const bBefore = await slotHash(sim, 'B');
    await assert.rejects(engine.install(new FileSource(sim.bundles[1]), { acceptIrreversible: true }), (e) => isAbuError(e, 'ABU_ERR_TARGET_IS_ACTIVE'));
    assert.equal(await slotHash(sim, 'B'), bBefore);
  });
});
