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
import { initializeSimBootEnv } from './sim-boot-env';

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
}

export async function createSimAppliance(dir: string, o: SimApplianceOptions = {}): Promise<SimAppliance> {
  const slotSize = o.slotSize ?? 32 * MIB;
  const imageSize = o.imageSize ?? 24 * MIB;
  const product = o.product ?? 'abu-demo-appliance';
  for (const sub of ['keys', 'images', 'bundles', 'state']) await fs.mkdir(path.join(dir, sub), { recursive: true });
  const diskImage = path.join(dir, 'disk.img');
  await createDisk(diskImage, slotSize);
  const key = await writeKeys(dir);
  await writeConfig(dir, product);
  await initializeSimBootEnv(dir, diskImage);
  await installFactoryImage(dir, diskImage, imageSize);
  const bundles = [
    await demoBundle(dir, key, product, { version: '1.1.0', from: '1.0.0', imageSize, description: 'Demo release 1.1.0: faster boot' }),
    await demoBundle(dir, key, product, { version: '1.2.0', from: '1.1.0', imageSize, description: 'Demo release 1.2.0: new database schema (irreversible)', irreversible: true }),
  ];
  const brokenBundle = await demoBundle(dir, key, product, { version: '1.1.0', from: '1.0.0', imageSize, description: 'Demo 1.1.0 whose health check fails', broken: true });
  return { dir, configPath: path.join(dir, 'config.json'), keyringPath: path.join(dir, 'keys'), privateKeyPath: path.join(dir, 'keys', 'demo.key'), diskImage, bundles, brokenBundle };
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

interface DemoRelease {
  version: string;
  from: string;
  imageSize: number;
  description: string;
  irreversible?: boolean;
  broken?: boolean;
}

async function demoBundle(dir: string, key: KeyObject, product: string, r: DemoRelease): Promise<string> {
  const suffix = r.broken ? '-broken' : '';
  const image = path.join(dir, 'images', `rootfs-${r.version}${suffix}.img`);
  await writeDemoImage(image, { version: r.version, size: r.imageSize, broken: r.broken });
  const out = path.join(dir, 'bundles', `${product}-${r.version}${suffix}.abu`);
  await createBundle(
    { images: [{ name: 'rootfs', slotClass: 'rootfs', path: image }], product, version: r.version, description: r.description, buildTime: 1_700_000_000, source: { exact: r.from }, irreversible: r.irreversible ?? false, keys: [key] },
    out,
  );
  return out;
}
