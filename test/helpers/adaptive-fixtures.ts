// Test helpers for adaptive installs: images derived from the simulated appliance's factory image, signed for it.
import { createPrivateKey, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import { createBundle } from '../../engine/bundle/bundle-writer';
import { chunkExtents, type ChunkExtent } from '../../engine/bundle/chunk-layout';
import { decodeHeader, DEFAULT_LIMITS, HEADER_SIZE, payloadStart } from '../../engine/bundle/framing';
import { decodeManifest } from '../../engine/bundle/manifest-codec';
import type { ImageEntry } from '../../engine/bundle/manifest';
import type { SimAppliance } from '../../engine/sim/create-sim-appliance';
import { readGpt } from '../../engine/slots/gpt';

export const CHUNK = 64 * 1024;

/** The factory image 1.0.0 that slot A holds on a fresh simulated appliance. */
export function factoryImage(sim: SimAppliance): Promise<Buffer> {
  return fs.readFile(path.join(sim.dir, 'images', 'rootfs-1.0.0.img'));
}

/** A copy of `base` whose chunks `changed` (of `chunkSize` bytes) hold fresh random bytes. */
export function withChangedChunks(base: Buffer, changed: number[], chunkSize = CHUNK): Buffer {
  const out = Buffer.from(base);
  for (const i of changed) randomBytes(Math.min(chunkSize, out.length - i * chunkSize)).copy(out, i * chunkSize);
  return out;
}

/** A signed 1.1.0 bundle (from 1.0.0) of `image` for the simulated appliance, written next to its image. */
export async function simBundle(sim: SimAppliance, image: Buffer, o: { chunkSize?: number; name?: string; zstdLevel?: number } = {}): Promise<string> {
  const name = o.name ?? `adaptive-${Math.random().toString(36).slice(2)}`;
  const file = path.join(sim.dir, 'images', `${name}.img`);
  await fs.writeFile(file, image);
  const out = path.join(sim.dir, 'bundles', `${name}.abu`);
  const key = createPrivateKey(await fs.readFile(sim.privateKeyPath));
  await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: file }], product: 'abu-demo-appliance', version: '1.1.0', source: { exact: '1.0.0' }, chunkSize: o.chunkSize ?? CHUNK, buildTime: 1, keys: [key], zstdLevel: o.zstdLevel }, out);
  return out;
}

/** A copy of `base` whose chunks `changed` hold a fresh random 4 KiB pattern repeated: new bytes that zstd shrinks. */
export function withCompressibleChanges(base: Buffer, changed: number[], chunkSize = CHUNK): Buffer {
  const out = Buffer.from(base);
  for (const i of changed) {
    const pattern = randomBytes(4096);
    for (let at = i * chunkSize; at < Math.min(out.length, (i + 1) * chunkSize); at += pattern.length) pattern.copy(out, at);
  }
  return out;
}

/** The first image of a bundle file and where each of its chunks is stored (read with the engine's own decoders). */
export async function firstImageLayout(bundle: string): Promise<{ entry: ImageEntry; extents: ChunkExtent[] }> {
  const bytes = await fs.readFile(bundle);
  const start = payloadStart(decodeHeader(bytes.subarray(0, HEADER_SIZE), DEFAULT_LIMITS));
  const entry = decodeManifest(bytes.subarray(HEADER_SIZE, HEADER_SIZE + bytes.readUInt32LE(12))).images[0];
  return { entry, extents: chunkExtents(entry, start) };
}

/** Writes `bytes` into slot `slot` of the simulated disk at `offset` (test setup: what the slot already holds). */
export async function writeSlot(sim: SimAppliance, slot: 'A' | 'B', offset: number, bytes: Buffer): Promise<void> {
  const part = (await readGpt(sim.diskImage)).find((p) => p.number === (slot === 'A' ? 2 : 3))!;
  const fh = await fs.open(sim.diskImage, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, part.offset + offset);
  } finally {
    await fh.close();
  }
}

/** Bytes other than `chunk` with the same length and the same CRC32 (the last 4 bytes are solved for it). */
export function crcTwin(chunk: Buffer): Buffer {
  const twin = randomBytes(chunk.length);
  forceCrc32(twin, crc32(chunk));
  return twin;
}

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Rewrites the last 4 bytes of `buf` so that zlib's CRC32 of it is `want` (CRC32 is linear: walk the register back). */
function forceCrc32(buf: Buffer, want: number): void {
  const byTop = new Uint8Array(256);
  for (let k = 0; k < 256; k++) byTop[TABLE[k] >>> 24] = k;
  const start = ~crc32(buf.subarray(0, buf.length - 4)) >>> 0;
  let r = ~want >>> 0;
  for (let i = 0; i < 4; i++) {
    const k = byTop[r >>> 24];
    r = (((r ^ TABLE[k]) << 8) | k) >>> 0;
  }
  buf.writeUInt32LE((r ^ start) >>> 0, buf.length - 4);
}
