// Builds the system-test images once per process (images/build.sh caches by content) and hands out per-test disk copies.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type BootloaderKind = 'uboot' | 'grub';

export interface ImageManifest {
  key: string;
  slotBytes: number;
  /** Private and public ed25519 key of the test bundles (the guest keyring holds the public one). */
  signingKey: string;
  publicKey: string;
  product: string;
  rootfs: Record<string, { file: string; version: string; kind: string }>;
  uboot: {
    disk: string; rom: string; parts: Record<string, number>; partStart: Record<string, number>;
    envOffsets: number[]; envSize: number;
  };
  grub: { disk: string; parts: Record<string, number>; partStart: Record<string, number>; bootPartOffset: number; grubenvPath: string };
}

export interface ImageSet {
  dir: string;
  manifest: ImageManifest;
  /** Absolute path of a slot image, e.g. rootfs('good-1.1.0'). */
  rootfs(name: string): string;
}

const REPO = path.resolve(__dirname, '..', '..');
let built: ImageSet | null = null;

/** Runs images/build.sh (a no-op when the cache has this content) and reads its manifest. */
export function buildImages(): ImageSet {
  if (built !== null) return built;
  const script = path.join(REPO, 'images', 'build.sh');
  const out = execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 });
  const dir = out.trim().split('\n').pop() ?? '';
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
  built = {
    dir,
    manifest,
    rootfs: (name) => {
      const entry = manifest.rootfs[name];
      if (entry === undefined) throw new Error(`no rootfs variant ${name}; built: ${Object.keys(manifest.rootfs).join(', ')}`);
      return path.join(dir, entry.file);
    },
  };
  return built;
}

/** A private, sparse copy of the factory disk, so each test starts from the same state. */
export function copyFactoryDisk(images: ImageSet, kind: BootloaderKind, dest: string): string {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  execFileSync('cp', ['--sparse=always', '--reflink=auto', path.join(images.dir, images.manifest[kind].disk), dest]);
  return dest;
}

/** Writes a slot image into a slot of a disk image on the host, as a factory or a test fixture would. */
export function writeSlot(images: ImageSet, kind: BootloaderKind, disk: string, slot: string, rootfsName: string): void {
  const offset = images.manifest[kind].partStart[slot];
  if (offset === undefined) throw new Error(`the ${kind} disk has no slot ${slot}`);
  execFileSync('dd', [`if=${images.rootfs(rootfsName)}`, `of=${disk}`, 'bs=1M', 'oflag=seek_bytes', `seek=${offset}`, 'conv=notrunc', 'status=none']);
}
