// The embedded default: a simulated appliance in a folder (GPT disk image with env, A, B and data partitions).
import { execFile } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createBundle } from '../bundle/bundle-writer';
import { keyId } from '../bundle/keyring';
import { readGpt } from '../slots/gpt';
import { StateStore, emptyState, historyEntry } from '../state/state-store';
import { demoHealthCheckCommand, writeDemoImage } from './demo-image';
import { DEMO_RELEASES, demoBundlePath, simBundles, type DemoRelease, type SimBundle } from './demo-releases';
import { initializeSimBootEnv } from './sim-boot-env';
import { assertSimNotInUse } from './sim-folder';

const run = promisify(execFile);
const MIB = 1024 * 1024;

export interface SimApplianceOptions {
  /** Bytes per slot partition (default 32 MiB). */
  slotSize?: number;
  /** Bytes per demo image (default 24 MiB, must fit the slot). */
  imageSize?: number;
  product?: string;
}

export interface SimAppliance {
  dir: string;
  configPath: string;
  keyringPath: string;
  privateKeyPath: string;
  diskImage: string;
  /** Signed bundles in chain order: 1.1.0 (from 1.0.0), 1.2.0 (from 1.1.0, irreversible). */
  bundles: string[];
  /** A signed 1.1.0 whose image fails the health check after it boots (for rollback demos). */
  brokenBundle: string;
  /** Every demo bundle (the good chain, then the broken one) with what it is for. */
  guide: SimBundle[];
}

export async function createSimAppliance(dir: string, o: SimApplianceOptions = {}): Promise<SimAppliance> {
  const slotSize = o.slotSize ?? 32 * MIB;
  const imageSize = o.imageSize ?? 24 * MIB;
  const product = o.product ?? 'abu-demo-appliance';
  // Rewriting the disk image under a running daemon or operation would corrupt what it is doing.
  await assertSimNotInUse(dir, 'creating a simulated appliance in');
  for (const sub of ['keys', 'images', 'bundles', 'state']) await fs.mkdir(path.join(dir, sub), { recursive: true });
  const diskImage = path.join(dir, 'disk.img');
  await createDisk(diskImage, slotSize);
  const key = await writeKeys(dir);
  await writeConfig(dir, product);
  await initializeSimBootEnv(dir, diskImage);
  await installFactoryImage(dir, diskImage, imageSize);
  const made: string[] = [];
  for (const r of DEMO_RELEASES) made.push(await demoBundle(dir, key, product, r, imageSize));
  const bundles = made.filter((_, i) => !DEMO_RELEASES[i].broken);
  const brokenBundle = made[DEMO_RELEASES.findIndex((r) => r.broken)];
  const guide = simBundles(dir, product);
  return { dir, configPath: path.join(dir, 'config.json'), keyringPath: path.join(dir, 'keys'), privateKeyPath: path.join(dir, 'keys', 'demo.key'), diskImage, bundles, brokenBundle, guide };
}

/** GPT: 1 env (1 MiB), 2 slot A, 3 slot B, 4 data (8 MiB); sparse file, so it costs little disk. */
async function createDisk(file: string, slotSize: number): Promise<void> {
  const total = 1 * MIB + 1 * MIB + 2 * slotSize + 8 * MIB + 1 * MIB;
  await fs.rm(file, { force: true });
  const fh = await fs.open(file, 'w');
  await fh.truncate(total);
  await fh.close();
  const mib = (n: number) => `${n / MIB}MiB`;
  const layout = ['label: gpt', `size=${mib(MIB)}, name=env`, `size=${mib(slotSize)}, name=A`, `size=${mib(slotSize)}, name=B`, `size=${mib(8 * MIB)}, name=data`].join('\n');
  const child = run('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', file]);
  child.child.stdin!.end(layout + '\n');
  await child;
}

async function writeKeys(dir: string): Promise<KeyObject> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  await fs.writeFile(path.join(dir, 'keys', 'demo.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await fs.writeFile(path.join(dir, 'keys', `${keyId(publicKey)}.pub`), publicKey.export({ type: 'spki', format: 'pem' }));
  return privateKey;
}

async function writeConfig(dir: string, product: string): Promise<void> {
  const config = {
    product,
    keyring: 'keys',
    stateDir: 'state',
    slots: [
      { name: 'A', targets: { rootfs: { device: 'disk.img', partition: 2 } } },
      { name: 'B', targets: { rootfs: { device: 'disk.img', partition: 3 } } },
    ],
    bootedSlot: { cmdline: 'cmdline' },
    bootloader: { kind: 'uboot', attempts: 3, options: { fwEnvConfig: 'fw_env.config' } },
    policy: { strictChain: true, allowDowngrade: false },
    install: { readBack: true, activate: true, rebootAfterInstall: false },
    healthChecks: [{ name: 'image-magic', command: demoHealthCheckCommand(), timeoutSeconds: 10 }],
    reboot: { simulated: true },
    http: { host: '127.0.0.1', port: 8080 },
  };
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  await fs.writeFile(path.join(dir, 'cmdline'), 'console=ttyS0 abu.slot=A\n');
}

/** The factory state: 1.0.0 written into slot A, recorded as verified and confirmed. */
async function installFactoryImage(dir: string, diskImage: string, imageSize: number): Promise<void> {
  const image = path.join(dir, 'images', 'rootfs-1.0.0.img');
  await writeDemoImage(image, { version: '1.0.0', size: imageSize });
  const a = (await readGpt(diskImage)).find((p) => p.number === 2)!;
  await run('dd', [`if=${image}`, `of=${diskImage}`, 'bs=1M', `seek=${a.offset}`, 'oflag=seek_bytes', 'conv=notrunc,fsync', 'status=none']);
  const state = emptyState();
  state.slots.A = { version: '1.0.0', description: 'Factory image 1.0.0', irreversible: false, installedAt: new Date(0).toISOString(), manifestSha256: '', verified: true };
  state.history.push(historyEntry('install', 'A', 'factory image 1.0.0', { version: '1.0.0' }));
  await new StateStore(path.join(dir, 'state')).save(state);
}

async function demoBundle(dir: string, key: KeyObject, product: string, r: DemoRelease, imageSize: number): Promise<string> {
  const image = path.join(dir, 'images', `rootfs-${r.version}${r.broken ? '-broken' : ''}.img`);
  await writeDemoImage(image, { version: r.version, size: imageSize, broken: r.broken });
  const out = demoBundlePath(dir, product, r);
  await createBundle(
    { images: [{ name: 'rootfs', slotClass: 'rootfs', path: image }], product, version: r.version, description: r.description, buildTime: 1_700_000_000, source: { exact: r.from }, irreversible: r.irreversible ?? false, keys: [key] },
    out,
  );
  return out;
}
