// A simulated appliance on a real block device: its disk image attached as a loop device with partition nodes,
// the config pointing slots A/B and the U-Boot env at those nodes (root only).
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createSimAppliance, type SimAppliance } from '../../engine/sim/create-sim-appliance';
import { tempDir } from './bundle-fixtures';

const MIB = 1024 * 1024;

export interface LoopAppliance {
  sim: SimAppliance;
  /** /dev/loopN; slots are `${loop}p2` (A) and `${loop}p3` (B), the env on `${loop}p1`. */
  loop: string;
  cleanup(): Promise<void>;
}

/** Why loop devices cannot be used here, or null when they can (CI runs as root with loop devices). */
export function whyNoLoop(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for losetup';
  try {
    execFileSync('losetup', ['-f']);
    return null;
  } catch {
    return 'no free loop device';
  }
}

export async function loopAppliance(prefix: string): Promise<LoopAppliance> {
  const t = await tempDir(prefix);
  const sim = await createSimAppliance(t.dir, { slotSize: 8 * MIB, imageSize: 6 * MIB });
  const loop = execFileSync('losetup', ['-f', '--show', '-P', sim.diskImage]).toString().trim();
  const cleanup = async () => {
    execFileSync('losetup', ['-d', loop]);
    await t.cleanup();
  };
  try {
    execFileSync('partx', ['-u', loop]);
    await appears(`${loop}p3`);
    await pointConfigAtLoop(sim, loop);
  } catch (e) {
    await cleanup();
    throw e;
  }
  return { sim, loop, cleanup };
}

async function pointConfigAtLoop(sim: SimAppliance, loop: string): Promise<void> {
  const config = JSON.parse(await fs.readFile(sim.configPath, 'utf8'));
  config.slots[0].targets.rootfs = { device: `${loop}p2` };
  config.slots[1].targets.rootfs = { device: `${loop}p3` };
  await fs.writeFile(sim.configPath, JSON.stringify(config));
  // The env now lives at the start of the env partition's own device node.
  const env = (await fs.readFile(path.join(sim.dir, 'fw_env.config'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
  const lines = env.map((_l, i) => `${loop}p1\t0x${(i * 0x4000).toString(16)}\t0x4000`);
  await fs.writeFile(path.join(sim.dir, 'fw_env.config'), lines.join('\n') + '\n');
}

/** udev may take a moment to create the partition nodes. */
async function appears(node: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await fs.stat(node).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${node} did not appear`);
}
