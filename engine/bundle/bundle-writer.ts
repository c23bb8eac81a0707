// Creates a signed bundle from image files in two streaming passes (hash, then write); deterministic.
import { createHash, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AbuError } from '../core/errors';
import { align, encodeHeader, HEADER_SIZE, layoutOffsets } from './framing';
import { digestImageFile, type ImageDigest } from './image-digest';
import { DEFAULT_CHUNK_SIZE, isValidChunkSize, validateManifest, type Manifest } from './manifest';
import { encodeManifest, encodeSignatures } from './manifest-codec';
import { signManifest } from './signatures';

export interface BundleImageInput {
  name: string;
  slotClass: string;
  /** A regular file (or block device) read twice: it must not change in between. */
  path: string;
}

export interface CreateBundleOptions {
  images: BundleImageInput[];
  product: string;
  version: string;
  description?: string;
  /** Unix seconds; default SOURCE_DATE_EPOCH, else the newest mtime of the images (reproducible). */
  buildTime?: number;
  source?: { exact?: string; range?: string };
  irreversible?: boolean;
  /** Bytes per verified chunk (power of two, 64 KiB..16 MiB); default 4 MiB. */
  chunkSize?: number;
  /** Ed25519 private keys; each adds one signature. */
  keys: KeyObject[];
}

export interface CreatedBundle {
  manifest: Manifest;
  manifestSha256: Buffer;
  keyIds: string[];
  /** Total bundle size in bytes. */
  size: number;
}

const ZEROS = Buffer.alloc(4096);

export async function createBundle(options: CreateBundleOptions, out: Writable | string): Promise<CreatedBundle> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!isValidChunkSize(chunkSize)) throw new AbuError('ABU_ERR_USAGE', `chunk size ${chunkSize} is not a power of two between 64 KiB and 16 MiB`);
  if (options.keys.length === 0) throw new AbuError('ABU_ERR_USAGE', 'a bundle needs at least one signing key');
  const digests = await Promise.all(options.images.map((i) => digestOf(i, chunkSize)));
  const manifest = buildManifest(options, digests, chunkSize, await defaultBuildTime(options));
  validateManifest(manifest);
  const manifestBytes = encodeManifest(manifest);
  const signatures = signManifest(manifestBytes, options.keys);
  const signatureBytes = encodeSignatures(signatures);
  const head = [encodeHeader({ manifestLength: manifestBytes.length, signatureLength: signatureBytes.length }), manifestBytes, signatureBytes];
  const headLength = HEADER_SIZE + manifestBytes.length + signatureBytes.length;
  const body = bundleBytes(head, align(headLength) - headLength, manifest, options.images);
  await writeTo(out, body);
  const last = manifest.images[manifest.images.length - 1];
  return {
    manifest,
    manifestSha256: createHash('sha256').update(manifestBytes).digest(),
    keyIds: signatures.map((s) => s.keyId),
    size: align(headLength) + last.offset + last.size,
  };
}

async function digestOf(image: BundleImageInput, chunkSize: number): Promise<ImageDigest> {
  try {
    const digest = await digestImageFile(image.path, chunkSize);
    if (digest.size === 0) throw new AbuError('ABU_ERR_USAGE', `image ${image.name}: ${image.path} is empty`);
    return digest;
  } catch (e) {
    if (e instanceof AbuError) throw e;
    throw new AbuError('ABU_ERR_USAGE', `image ${image.name}: cannot read ${image.path}: ${(e as Error).message}`, { cause: e });
  }
}

function buildManifest(o: CreateBundleOptions, digests: ImageDigest[], chunkSize: number, buildTime: number): Manifest {
  const offsets = layoutOffsets(digests.map((d) => d.size));
  const source: Manifest['source'] = {};
  if (o.source?.exact) source.exact = o.source.exact;
  if (o.source?.range) source.range = o.source.range;
  return {
    product: o.product, version: o.version, description: o.description ?? '', buildTime, source,
    irreversible: o.irreversible === true,
    images: o.images.map((image, i) => ({
      name: image.name, slotClass: image.slotClass, chunkSize, ...digests[i], offset: offsets[i], compression: 'none' as const,
    })),
  };
}

async function defaultBuildTime(o: CreateBundleOptions): Promise<number> {
  if (o.buildTime !== undefined) return o.buildTime;
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch)) return Number(epoch);
  const times = await Promise.all(o.images.map(async (i) => Math.floor((await stat(i.path)).mtimeMs / 1000)));
  return Math.max(...times);
}

/** Second pass: the bytes in order, re-hashing each image to catch a file that changed since pass one. */
async function* bundleBytes(head: Buffer[], headPadding: number, manifest: Manifest, inputs: BundleImageInput[]): AsyncGenerator<Buffer> {
  yield* head;
  yield ZEROS.subarray(0, headPadding);
  let position = 0;
  for (const [i, entry] of manifest.images.entries()) {
    yield ZEROS.subarray(0, entry.offset - position);
    const hash = createHash('sha256');
    let size = 0;
    for await (const piece of createReadStream(inputs[i].path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
      hash.update(piece);
      size += piece.length;
      if (size <= entry.size) yield piece;
    }
    if (size !== entry.size || !hash.digest().equals(entry.sha256)) {
      throw new AbuError('ABU_ERR_IMAGE_DIGEST', `image ${entry.name}: ${inputs[i].path} changed while the bundle was being written`);
    }
    position = entry.offset + entry.size;
  }
}

/** A path is written to a temporary name and renamed, so a failed run leaves no half bundle. */
async function writeTo(out: Writable | string, body: AsyncGenerator<Buffer>): Promise<void> {
  if (typeof out !== 'string') {
    await pipeline(body, out);
    return;
  }
  const partial = `${out}.partial-${process.pid}`;
  try {
    await pipeline(body, createWriteStream(partial));
    await rename(partial, out);
  } catch (e) {
    await unlink(partial).catch(() => undefined);
    throw e;
  }
}
