// A receiver's own check of a stored bundle: content address, signature by the site keyring, product, every chunk.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { loadKeyring, openBundle, type Manifest } from '../bundle/bundle-reader';
import { AbuError } from '../core/errors';
import { FileSource } from '../sources/file-source';

/** What the site knows of a stored bundle, taken from its signed manifest. */
export interface ReplicaMeta {
  sha256: string;
  size: number;
  product: string;
  version: string;
  description: string;
  irreversible: boolean;
  /** The version it installs over (exact predecessor or semver range), as the manifest says. */
  installsOn: string;
  storedAt: string;
  /** When the first byte of a received replica arrived (absent for an upload): with `storedAt`, when it was received. */
  receivingSince?: string;
}

export interface VerifyOptions {
  keyringPath: string;
  product: string;
  /** The content address the file must hash to (a replica); absent for an upload, whose address is computed. */
  sha256?: string;
  /**
   * The file's digest as computed while its bytes were written (one read pass fewer). Only for a file written in
   * one go by this process; the chunk check below still reads every payload byte back from the file.
   */
  written?: { sha256: string; size: number };
}

/**
 * Throws the bundle's own error (ABU_ERR_SIGNATURE_*, _KEY_UNKNOWN, _CHUNK_*, _IMAGE_DIGEST, _BUNDLE_*),
 * ABU_ERR_INCOMPATIBLE for another product, or ABU_ERR_SITE_REPLICA_DIGEST when the file is not what it was sent as.
 */
export async function verifyBundleFile(file: string, o: VerifyOptions): Promise<ReplicaMeta> {
  const { sha256, size } = o.written ?? (await digestFile(file));
  if (o.sha256 !== undefined && sha256 !== o.sha256) {
    throw new AbuError('ABU_ERR_SITE_REPLICA_DIGEST', `the received bytes hash to ${sha256.slice(0, 16)}…, not to the bundle id ${o.sha256.slice(0, 16)}… they were sent as`, { details: { expected: o.sha256, actual: sha256 } });
  }
  return metaOf(await verifyPayload(file, o), sha256, size, new Date().toISOString());
}

function metaOf(manifest: Manifest, sha256: string, size: number, storedAt: string): ReplicaMeta {
  return {
    sha256, size, product: manifest.product, version: manifest.version, description: manifest.description ?? '', irreversible: manifest.irreversible,
    installsOn: [manifest.source.exact, manifest.source.range].filter(Boolean).join(' ') || 'any version', storedAt,
  };
}

/**
 * The check an upload passes before any of its bytes is offered to a member: an abu bundle (header), signed by
 * the site keyring (signatures over the manifest), for this product. Reads only the head from `stream`; the
 * returned meta's `storedAt` is empty (the bundle is not stored yet) and its `sha256` and `size` are as announced.
 */
export async function verifyHead(stream: Readable, o: VerifyOptions & { sha256: string; size: number }): Promise<ReplicaMeta> {
  const bundle = await openBundle(stream, await loadKeyring(o.keyringPath));
  try {
    checkProduct(bundle.manifest, o.product);
    return metaOf(bundle.manifest, o.sha256, o.size, '');
  } finally {
    bundle.close();
  }
}

function checkProduct(manifest: Manifest, product: string): void {
  if (manifest.product !== product) {
    throw new AbuError('ABU_ERR_INCOMPATIBLE', `the bundle is for product "${manifest.product}", this site runs "${product}"`);
  }
}

/** Signatures first (openBundle), then the product, then every chunk's CRC and SHA-256 and each whole image. */
async function verifyPayload(file: string, o: VerifyOptions): Promise<Manifest> {
  const bundle = await openBundle(await new FileSource(file).open(), await loadKeyring(o.keyringPath));
  try {
    checkProduct(bundle.manifest, o.product);
    for await (const { chunks } of bundle.images({ verifyChunks: true })) {
      for await (const chunk of chunks) void chunk;
    }
    await bundle.finish();
    return bundle.manifest;
  } finally {
    bundle.close();
  }
}

export async function digestFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const piece of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    hash.update(piece as Buffer);
    size += (piece as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Passes bytes through while hashing them: `digest()` once they all went through. */
export function digestingStream(): Transform & { digest(): { sha256: string; size: number } } {
  const hash = createHash('sha256');
  let size = 0;
  const t = new Transform({
    transform(piece: Buffer, _enc, done) {
      hash.update(piece);
      size += piece.length;
      done(null, piece);
    },
  });
  return Object.assign(t, { digest: () => ({ sha256: hash.digest('hex'), size }) });
}
