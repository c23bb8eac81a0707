// Creates a signed bundle from image files in two streaming passes (hash, then write); deterministic.
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AbuError } from '../core/errors';
import { storedLength } from './chunk-layout';
import { align, encodeHeader, HEADER_SIZE, layoutOffsets } from './framing';
import { compressImageFile, type CompressedImage } from './image-compressor';
import { digestImageFile, type ImageDigest } from './image-digest';
import { DEFAULT_CHUNK_SIZE, isValidChunkSize, validateManifest, type ImageEntry, type Manifest } from './manifest';
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
  /** Store every image's chunks as zstd frames at this level (1..22); default: uncompressed. */
  zstdLevel?: number;
}

/** `--compress zstd` without a level: level 9 gave most of level 19's size at a fraction of its time (bench/compression-bench.ts). */
export const DEFAULT_ZSTD_LEVEL = 9;

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
  const level = options.zstdLevel;
  if (level !== undefined && (!Number.isInteger(level) || level < 1 || level > 22)) throw new AbuError('ABU_ERR_USAGE', `zstd level ${level} is not an integer 1..22`);
  // Compressed frames are spooled in pass one (compressing twice would double the slowest step), then copied.
  const spool = level === undefined ? null : await Spool.create(out);
  try {
    const digests = spool === null
      ? await Promise.all(options.images.map((i) => digestOf(i, chunkSize)))
      : await compressAll(options.images, chunkSize, level as number, spool);
    const manifest = buildManifest(options, digests, chunkSize, await defaultBuildTime(options));
    validateManifest(manifest);
    const manifestBytes = encodeManifest(manifest);
    const signatures = signManifest(manifestBytes, options.keys);
    const signatureBytes = encodeSignatures(signatures);
    const head = [encodeHeader({ manifestLength: manifestBytes.length, signatureLength: signatureBytes.length }), manifestBytes, signatureBytes];
    const headLength = HEADER_SIZE + manifestBytes.length + signatureBytes.length;
    await writeTo(out, bundleBytes(head, align(headLength) - headLength, manifest, options.images, spool));
    const last = manifest.images[manifest.images.length - 1];
    return {
      manifest,
      manifestSha256: createHash('sha256').update(manifestBytes).digest(),
      keyIds: signatures.map((s) => s.keyId),
      size: align(headLength) + last.offset + storedLength(last),
    };
  } finally {
    await spool?.remove();
  }
}

/** Images one after another (each compresses several chunks at once), frames appended to the spool in order. */
async function compressAll(images: BundleImageInput[], chunkSize: number, level: number, spool: Spool): Promise<CompressedImage[]> {
  const out: CompressedImage[] = [];
  for (const image of images) {
    const compressed = await readingImage(image, () => compressImageFile(image.path, chunkSize, level, spool.file, spool.size));
    spool.starts.push(spool.size);
    spool.size += compressed.chunkStoredSize.reduce((a, b) => a + b, 0);
    out.push(compressed);
  }
  return out;
}

/** A temporary file beside the output (or in the temp folder for a stream) holding the compressed images. */
class Spool {
  size = 0;
  /** Where each image's frames start in the spool, in image order. */
  readonly starts: number[] = [];

  private constructor(readonly path: string, readonly file: FileHandle) {}

  static async create(out: Writable | string): Promise<Spool> {
    const dir = typeof out === 'string' ? path.dirname(out) : tmpdir();
    const file = path.join(dir, `.abu-spool-${process.pid}-${randomBytes(4).toString('hex')}`);
    return new Spool(file, await open(file, 'wx+', 0o600));
  }

  async remove(): Promise<void> {
    await this.file.close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }
}

async function digestOf(image: BundleImageInput, chunkSize: number): Promise<ImageDigest> {
  return readingImage(image, () => digestImageFile(image.path, chunkSize));
}

/** Runs a first-pass read of an image: an empty or unreadable file is the user's mistake (ABU_ERR_USAGE). */
async function readingImage<T extends ImageDigest>(image: BundleImageInput, read: () => Promise<T>): Promise<T> {
  try {
    const digest = await read();
    if (digest.size === 0) throw new AbuError('ABU_ERR_USAGE', `image ${image.name}: ${image.path} is empty`);
    return digest;
  } catch (e) {
    if (e instanceof AbuError) throw e;
    throw new AbuError('ABU_ERR_USAGE', `image ${image.name}: cannot read ${image.path}: ${(e as Error).message}`, { cause: e });
  }
}

function buildManifest(o: CreateBundleOptions, digests: (ImageDigest | CompressedImage)[], chunkSize: number, buildTime: number): Manifest {
  const entries: ImageEntry[] = o.images.map((image, i) => ({
    name: image.name, slotClass: image.slotClass, chunkSize, ...digests[i], offset: 0,
    compression: 'chunkStoredSize' in digests[i] ? 'zstd' as const : 'none' as const,
  }));
  const offsets = layoutOffsets(entries.map(storedLength));
  const source: Manifest['source'] = {};
  if (o.source?.exact) source.exact = o.source.exact;
  if (o.source?.range) source.range = o.source.range;
  return {
    product: o.product, version: o.version, description: o.description ?? '', buildTime, source,
    irreversible: o.irreversible === true,
    images: entries.map((entry, i) => ({ ...entry, offset: offsets[i] })),
  };
}

async function defaultBuildTime(o: CreateBundleOptions): Promise<number> {
  if (o.buildTime !== undefined) return o.buildTime;
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch)) return Number(epoch);
  const times = await Promise.all(o.images.map(async (i) => Math.floor((await stat(i.path)).mtimeMs / 1000)));
  return Math.max(...times);
}

/** Second pass: the bytes in order; an uncompressed image is re-read and re-hashed to catch a file that changed since pass one. */
async function* bundleBytes(head: Buffer[], headPadding: number, manifest: Manifest, inputs: BundleImageInput[], spool: Spool | null): AsyncGenerator<Buffer> {
  yield* head;
  yield ZEROS.subarray(0, headPadding);
  let position = 0;
  for (const [i, entry] of manifest.images.entries()) {
    yield ZEROS.subarray(0, entry.offset - position);
    if (spool !== null) yield* spooled(spool, spool.starts[i], storedLength(entry));
    else yield* reread(entry, inputs[i]);
    position = entry.offset + storedLength(entry);
  }
}

async function* reread(entry: ImageEntry, input: BundleImageInput): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const piece of createReadStream(input.path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    hash.update(piece);
    size += piece.length;
    if (size <= entry.size) yield piece;
  }
  if (size !== entry.size || !hash.digest().equals(entry.sha256)) {
    throw new AbuError('ABU_ERR_IMAGE_DIGEST', `image ${entry.name}: ${input.path} changed while the bundle was being written`);
  }
}

async function* spooled(spool: Spool, start: number, length: number): AsyncGenerator<Buffer> {
  if (length === 0) return;
  yield* createReadStream('', { fd: spool.file, start, end: start + length - 1, autoClose: false, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
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
