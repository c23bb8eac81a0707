// A small simulated appliance per boot-flag backend for the crash campaign, with bundles cut in 64 KiB chunks.
import { createHash, createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createBundle } from '../../engine/bundle/bundle-writer';
import { createSimAppliance } from '../../engine/sim/create-sim-appliance';
import { writeDemoImage } from '../../engine/sim/demo-image';
import { initializeBootEnv, writeFwEnvConfig } from '../../engine/sim/sim-boot-env';
import { readGpt } from '../../engine/slots/gpt';
import { makeAndroidMisc, makeGrubEnv } from '../contract/boot-fixtures';

/** The four boot-flag stores the campaign covers (engine/boot/registry.ts kinds; U-Boot in both layouts). */
export const CRASH_BACKENDS = ['uboot-redundant', 'uboot-single', 'grub', 'android'] as const;
export type CrashBackend = (typeof CRASH_BACKENDS)[number];

const MIB = 1024 * 1024;
/** 12 chunks per image: enough unflushed slot writes at once to exceed the all-subsets bound. */
export const CRASH_CHUNK = 64 * 1024;
export const CRASH_IMAGE_SIZE = 12 * CRASH_CHUNK;

export interface CrashAppliance {
  kind: CrashBackend;
  dir: string;
  configPath: string;
  diskImage: string;
  /** Byte offset and size of each slot's partition in the disk image. */
  slots: Record<'A' | 'B', { offset: number; size: number }>;
  /** Files (besides the disk image) holding the boot flags: the GRUB block or the Android misc image. */
  envFiles: string[];
  /** Regions of the disk image holding a U-Boot env (restored before each crash state). */
  diskEnvRegions: Array<{ offset: number; size: number }>;
  /** SHA-256 of each release's image (CRASH_IMAGE_SIZE bytes): what "a complete, verified image" is. */
  images: Record<string, string>;
  /** 1.3.0 is broken: complete and signed, but its health check fails after it boots (the rollback path). */
  bundles: { '1.1.0': string; '1.2.0': string; '1.3.0': string };
}

export async function createCrashAppliance(dir: string, kind: CrashBackend): Promise<CrashAppliance> {
  const sim = await createSimAppliance(dir, { slotSize: 2 * MIB, imageSize: CRASH_IMAGE_SIZE });
  const parts = await readGpt(sim.diskImage);
  const at = (n: number) => ({ offset: parts.find((p) => p.number === n)!.offset, size: parts.find((p) => p.number === n)!.size });
  const envPart = at(1);
  const config = JSON.parse(await fs.readFile(sim.configPath, 'utf8'));
  let envFiles: string[] = [];
  let diskEnvRegions = [{ offset: envPart.offset, size: 2 * 0x4000 }];
  if (kind === 'uboot-single') {
    await writeFwEnvConfig(path.join(dir, 'fw_env.config'), path.basename(sim.diskImage), envPart.offset, false);
    await initializeBootEnv(sim.configPath);
  } else if (kind === 'grub') {
    envFiles = [await makeGrubEnv(dir, { ORDER: 'A', A_OK: '1', A_TRY: '0', B_OK: '0', B_TRY: '0' })];
    config.bootloader = { kind: 'grub', options: { envFile: 'grubenv' } };
    diskEnvRegions = [];
  } else if (kind === 'android') {
    envFiles = [await makeAndroidMisc(dir, { 'A.priority': '15', 'A.tries': '0', 'A.successful': '1', 'B.priority': '0', 'B.tries': '0', 'B.successful': '0' })];
    config.bootloader = { kind: 'android', options: { miscDevice: 'misc.img' } };
    diskEnvRegions = [];
  }
  await fs.writeFile(sim.configPath, JSON.stringify(config, null, 2) + '\n');
  const key = createPrivateKey(await fs.readFile(sim.privateKeyPath));
  const images: Record<string, string> = { '1.0.0': await digestFile(path.join(dir, 'images', 'rootfs-1.0.0.img')) };
  const bundle = async (version: string, from: string, broken = false) => {
    const image = path.join(dir, 'images', `crash-${version}.img`);
    await writeDemoImage(image, { version, size: CRASH_IMAGE_SIZE, broken });
    images[version] = await digestFile(image);
    const out = path.join(dir, 'bundles', `crash-${version}.abu`);
    await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: image }], product: config.product, version, buildTime: 1_700_000_000, source: { exact: from }, chunkSize: CRASH_CHUNK, keys: [key] }, out);
    return out;
  };
  const bundles = { '1.1.0': await bundle('1.1.0', '1.0.0'), '1.2.0': await bundle('1.2.0', '1.1.0'), '1.3.0': await bundle('1.3.0', '1.2.0', true) };
  return { kind, dir, configPath: sim.configPath, diskImage: sim.diskImage, slots: { A: at(2), B: at(3) }, envFiles, diskEnvRegions, images, bundles };
}

async function digestFile(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex');
}
