// Installs onto real block devices: the simulated appliance's disk image attached as a loop device with partitions.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isAbuError } from '../../../engine/core/errors';
import { createEngine, type AbuEngine } from '../../../engine/engine';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { FileSource } from '../../../engine/sources/file-source';
import { tempDir } from '../../helpers/bundle-fixtures';
import { slotHash } from '../../helpers/sim-fixture';

const MIB = 1024 * 1024;

function canUseLoop(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for losetup';
  try {
    execFileSync('losetup', ['-f']);
    return null;
  } catch {
    return 'no free loop device';
  }
}

describe('install onto loop block devices (root)', function () {
  this.timeout(120_000);
  let sim: SimAppliance;
  let loop = '';
  let cleanup: () => Promise<void> = async () => undefined;

  before(async function () {
    const why = canUseLoop();
    if (why) return this.skip(); // CI runs as root with loop devices; see README
    const t = await tempDir('abu-loop-');
    sim = await createSimAppliance(t.dir, { slotSize: 8 * MIB, imageSize: 6 * MIB });
    loop = execFileSync('losetup', ['-f', '--show', '-P', sim.diskImage]).toString().trim();
    execFileSync('partx', ['-u', loop]);
    await waitFor(`${loop}p3`);
    cleanup = async () => {
      execFileSync('losetup', ['-d', loop]);
      await t.cleanup();
    };
    await pointConfigAtLoop(sim, loop);
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

async function pointConfigAtLoop(sim: SimAppliance, loop: string): Promise<void> {
  const config = JSON.parse(await fs.readFile(sim.configPath, 'utf8'));
  config.slots[0].targets.rootfs = { device: `${loop}p2` };
  config.slots[1].targets.rootfs = { device: `${loop}p3` };
  await fs.writeFile(sim.configPath, JSON.stringify(config));
  // The env now lives at the start of the env partition's own device node.
  const env = (await fs.readFile(path.join(sim.dir, 'fw_env.config'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
  const lines = env.map((l, i) => `${loop}p1\t0x${(i * 0x4000).toString(16)}\t0x4000`);
  await fs.writeFile(path.join(sim.dir, 'fw_env.config'), lines.join('\n') + '\n');
}

async function waitFor(node: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await fs.stat(node);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${node} did not appear`);
}
