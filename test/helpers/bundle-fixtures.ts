// Test helpers: keys, deterministic images, valid bundles and hand-crafted (possibly invalid) ones.
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { createBundle, type CreateBundleOptions, type CreatedBundle } from '../../engine/bundle/bundle-writer';
import { align, encodeHeader, HEADER_SIZE, layoutOffsets } from '../../engine/bundle/framing';
import { keyId } from '../../engine/bundle/keyring';
import type { ImageEntry, Manifest } from '../../engine/bundle/manifest';
import { encodeManifest, encodeSignatures } from '../../engine/bundle/manifest-codec';
import { signManifest } from '../../engine/bundle/signatures';
import { digestImageFile } from '../../engine/bundle/image-digest';

export interface TestKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
  publicPem: string;
}

/** A fresh ed25519 key pair with its key id and public PEM (what a keyring file holds). */
export function makeKey(): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, keyId: keyId(publicKey), publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

/** A fresh temporary directory; call the returned cleanup in after(). */
export async function tempDir(prefix = 'abu-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes one <keyId>.pub per key into `dir` (a keyring directory) and returns `dir`. */
export async function writeKeyring(dir: string, keys: TestKey[]): Promise<string> {
  await Promise.all(keys.map((k) => writeFile(path.join(dir, `${k.keyId}.pub`), k.publicPem)));
  return dir;
}

/** Deterministic pseudo-random bytes: the same (size, seed) always gives the same image. */
export function imageBytes(size: number, seed = 'image'): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let block = 0, at = 0; at < size; block++, at += 32) {
    createHash('sha256').update(`${seed}:${block}`).digest().copy(out, at);
  }
  return out;
}

export interface FixtureImage {
  name: string;
  slotClass?: string;
  size: number;
  seed?: string;
}

export interface FixtureBundle extends CreatedBundle {
  path: string;
  images: Buffer[];
}

/** Writes the images into `dir` and creates a signed bundle `dir/<file>` with the real writer. */
export async function makeBundle(dir: string, o: { images: FixtureImage[]; keys: TestKey[]; file?: string } & Partial<Omit<CreateBundleOptions, 'images' | 'keys'>>): Promise<FixtureBundle> {
  const images = o.images.map((i) => imageBytes(i.size, i.seed ?? i.name));
  const inputs = await Promise.all(o.images.map(async (i, n) => {
    const file = path.join(dir, `${i.name}.img`);
    await writeFile(file, images[n]);
    return { name: i.name, slotClass: i.slotClass ?? defaultSlotClass(i.name, n), path: file };
  }));
  const out = path.join(dir, o.file ?? 'bundle.abu');
  const created = await createBundle({
    product: o.product ?? 'abu-test', version: o.version ?? '1.0.0', buildTime: o.buildTime ?? 1700000000,
    chunkSize: o.chunkSize ?? 64 * 1024, description: o.description, source: o.source, irreversible: o.irreversible,
    images: inputs, keys: o.keys.map((k) => k.privateKey), zstdLevel: o.zstdLevel,
  }, out);
  return { ...created, path: out, images };
}

/** The first image goes to `rootfs`, any further one to a class of its own name: one image per slot class. */
function defaultSlotClass(name: string, index: number): string {
  return index === 0 ? 'rootfs' : name;
}

/** Manifest entries for in-memory images with the correct layout and digests. */
export async function describeImages(dir: string, images: { name: string; slotClass?: string; data: Buffer }[], chunkSize = 64 * 1024): Promise<ImageEntry[]> {
  const offsets = layoutOffsets(images.map((i) => i.data.length));
  return Promise.all(images.map(async (i, n) => {
    const file = path.join(dir, `described-${n}.img`);
    await writeFile(file, i.data);
    const digest = await digestImageFile(file, chunkSize);
    return { name: i.name, slotClass: i.slotClass ?? defaultSlotClass(i.name, n), chunkSize, ...digest, offset: offsets[n], compression: 'none' as const };
  }));
}

export interface CraftOptions {
  /** Manifest bytes to use instead of encoding `manifest` (garbage-protobuf tests). */
  manifestBytes?: Buffer;
  /** Signature block to use instead of the one `keys` make (tests of the block's own rules). */
  signatureBytes?: Buffer;
  /** Keys that sign; none gives an unsigned bundle. */
  keys: TestKey[];
  /** Payload of each image, laid out at the offsets the manifest declares. */
  payloads: Buffer[];
}

/**
 * Assembles a bundle WITHOUT validating the manifest, so tests can sign inconsistent manifests
 * (duplicate names, wrong chunk tables, bad offsets) and check the reader refuses them.
 */
export function craftBundle(manifest: Manifest, o: CraftOptions): Buffer {
  const manifestBytes = o.manifestBytes ?? encodeManifest(manifest);
  const signatureBytes = o.signatureBytes ?? (o.keys.length > 0 ? encodeSignatures(signManifest(manifestBytes, o.keys.map((k) => k.privateKey))) : Buffer.alloc(0));
  const head = Buffer.concat([encodeHeader({ manifestLength: manifestBytes.length, signatureLength: signatureBytes.length }), manifestBytes, signatureBytes]);
  const start = align(HEADER_SIZE + manifestBytes.length + signatureBytes.length);
  // Absurd offsets (tests of the 2^53 limit) get no payload: the reader refuses them before it.
  const placed = manifest.images.map((image, i) => ({ at: image.offset, data: o.payloads[i] ?? Buffer.alloc(0) })).filter((p) => p.at < 2 ** 30);
  const end = placed.reduce((max, p) => Math.max(max, p.at + p.data.length), 0);
  const out = Buffer.alloc(start + end);
  head.copy(out, 0);
  placed.forEach((p) => p.data.copy(out, start + p.at));
  return out;
}

/** A Readable that serves `bytes` in pieces of `pieceSize` (exercises reassembly across pieces). */
export function bufferStream(bytes: Buffer, pieceSize = 4096): Readable {
  let at = 0;
  return new Readable({
    read() {
      if (at >= bytes.length) {
        this.push(null);
        return;
      }
      this.push(bytes.subarray(at, at + pieceSize));
      at += pieceSize;
    },
  });
}
