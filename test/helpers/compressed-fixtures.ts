// Test helpers for zstd bundles: compressible images, and signed bundles crafted from chosen (possibly bad) frames.
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createBundle } from '../../engine/bundle/bundle-writer';
import { storedLength } from '../../engine/bundle/chunk-layout';
import { layoutOffsets } from '../../engine/bundle/framing';
import type { ImageEntry, Manifest } from '../../engine/bundle/manifest';
import type { SimAppliance } from '../../engine/sim/create-sim-appliance';
import { DEMO_IMAGE_MAGIC } from '../../engine/sim/demo-image';
import { zstdCompress } from '../../native/zstd';
import { craftBundle, type TestKey } from './bundle-fixtures';

/**
 * Bytes that compress like a root filesystem: a first line (e.g. the demo magic), text, runs of zeros (free
 * space) and some incompressible pieces, in 4 KiB blocks chosen by a seeded pattern.
 */
export function compressibleImage(size: number, firstLine = '', seed = 1): Buffer {
  const out = Buffer.alloc(size);
  const text = Buffer.from('#!/bin/sh\n# configuration of the appliance\nexport PATH=/usr/sbin:/usr/bin:/sbin:/bin\n');
  for (let block = 0, at = 0; at < size; block++, at += 4096) {
    const kind = (block * 2654435761 + seed) % 7;
    const end = Math.min(size, at + 4096);
    if (kind < 3) continue; // zeros: free blocks
    if (kind < 6) for (let p = at; p < end; p += text.length) text.copy(out, p, 0, Math.min(text.length, end - p));
    else randomBytes(end - at).copy(out, at);
  }
  Buffer.from(firstLine).copy(out, 0);
  return out;
}

export interface ZstdImage {
  entry: ImageEntry;
  frames: Buffer[];
}

/** A zstd manifest entry (offset 0, to be laid out) and its frames, digests over the uncompressed chunks. */
export async function zstdImage(name: string, slotClass: string, data: Buffer, chunkSize: number, level = 3): Promise<ZstdImage> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkSize) chunks.push(data.subarray(at, at + chunkSize));
  const frames = await Promise.all(chunks.map((c) => zstdCompress(c, level)));
  const sha = (b: Buffer) => createHash('sha256').update(b).digest();
  return {
    entry: {
      name, slotClass, size: data.length, chunkSize, offset: 0, compression: 'zstd',
      chunkCrc32: chunks.map((c) => zlib.crc32(c)), chunkSha256: chunks.map(sha), sha256: sha(data),
      chunkStoredSize: frames.map((f) => f.length), chunkStoredCrc32: frames.map((f) => zlib.crc32(f)),
    },
    frames,
  };
}

/**
 * A signed bundle of these images with these frames. The stored tables follow the frames unless `keepTables`
 * (then the entry's own tables are signed as they are, to test a table that lies about its frames).
 */
export function craftZstdBundle(base: Omit<Manifest, 'images'>, images: ZstdImage[], keys: TestKey[], o: { keepTables?: boolean } = {}): Buffer {
  const entries = images.map(({ entry, frames }) => (o.keepTables ? { ...entry } : {
    ...entry, chunkStoredSize: frames.map((f) => f.length), chunkStoredCrc32: frames.map((f) => zlib.crc32(f)),
  }));
  const offsets = layoutOffsets(entries.map(storedLength));
  const manifest: Manifest = { ...base, images: entries.map((e, i) => ({ ...e, offset: offsets[i] })) };
  return craftBundle(manifest, { keys, payloads: images.map((i) => Buffer.concat(i.frames)) });
}

export const BASE_MANIFEST: Omit<Manifest, 'images'> = {
  product: 'abu-test', version: '1.0.0', description: '', buildTime: 1700000000, source: {}, irreversible: false,
};

/** A compressible image the simulated health check accepts, and its zstd bundle (`version` from `from`) signed by the sim's key. */
export async function zstdBundleFor(sim: SimAppliance, size: number, chunkSize: number, o: { version?: string; from?: string } = {}): Promise<{ image: Buffer; bundle: string }> {
  const version = o.version ?? '1.1.0';
  const image = compressibleImage(size, `${DEMO_IMAGE_MAGIC} version=${version}\n`);
  const file = path.join(sim.dir, 'images', `rootfs-${version}-z.img`);
  await fs.writeFile(file, image);
  const bundle = path.join(sim.dir, 'bundles', `z-${version}.abu`);
  const key = createPrivateKey(await fs.readFile(sim.privateKeyPath));
  const source = { exact: o.from ?? '1.0.0' };
  await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: file }], product: 'abu-demo-appliance', version, source, chunkSize, buildTime: 1, keys: [key], zstdLevel: 3 }, bundle);
  return { image, bundle };
}
