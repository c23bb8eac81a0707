// Opens a bundle stream: header, manifest and signatures verified up front, payload streamed on demand.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ByteReader, DEFAULT_IDLE_TIMEOUT_MS } from './byte-reader';
import { decodeHeader, DEFAULT_LIMITS, HEADER_SIZE, payloadStart, type BundleHeader, type BundleLimits } from './framing';
import type { Keyring } from './keyring';
import { validateManifest, type ImageEntry, type Manifest } from './manifest';
import { decodeManifest, decodeSignatures, type SignatureRecord } from './manifest-codec';
import { PayloadReader, type BundleChunk, type ImagesOptions } from './payload-reader';
import { verifyManifest } from './signatures';

export type { BundleLimits } from './framing';
export type { ImageEntry, Manifest } from './manifest';
export type { Keyring } from './keyring';
export type { BundleChunk, ImagesOptions } from './payload-reader';
export { loadKeyring } from './keyring';

export interface OpenOptions extends Partial<BundleLimits> {
  /** Give up with ABU_ERR_SOURCE when the source sends nothing for this long (default 30000). */
  idleTimeoutMs?: number;
}

export interface OpenedBundle {
  manifest: Manifest;
  manifestSha256: Buffer;
  /** Bundle-file offset where the payload (the first image) begins; see chunk-layout.ts. */
  payloadStart: number;
  /** Key ids whose signatures verified. */
  signedBy: string[];
  /**
   * Images in order. Each chunk's data buffer comes from `allocate(n)` when given (the installer
   * passes aligned buffers from a pool), and is NOT verified here unless verifyChunks is true.
   * Call once; an image whose chunks are not all consumed is skipped when the next one is asked for.
   * Iteration throws ABU_ERR_BUNDLE_TRUNCATED, _BUNDLE_PADDING, ABU_ERR_SOURCE (stream error or
   * idle timeout) or the code of an AbuError the stream failed with (ABU_ERR_CANCELLED, ...), and with verifyChunks ABU_ERR_CHUNK_CRC, _CHUNK_DIGEST or _IMAGE_DIGEST; a chunk
   * is yielded only after its bytes (and checks, if asked) are complete.
   */
  images(options?: ImagesOptions): AsyncIterable<{ entry: ImageEntry; chunks: AsyncIterable<BundleChunk> }>;
  /** After the last image: checks padding and that no byte follows (ABU_ERR_BUNDLE_TRAILING). */
  finish(): Promise<void>;
  /** Releases the source; safe to call more than once and after an error. */
  close(): void;
}

/** Raw, unverified head of a bundle: what `inspect` shows when no keyring is given. */
export interface BundleHead {
  header: BundleHeader;
  manifestBytes: Buffer;
  signatures: SignatureRecord[];
}

/**
 * Reads header, manifest and signatures; verifies signatures before decoding; throws AbuError
 * (_BUNDLE_MAGIC/_VERSION/_HEADER/_LIMIT/_TRUNCATED, _SIGNATURE_*, _KEY_UNKNOWN, _MANIFEST_*,
 * _COMPRESSION_UNSUPPORTED, _SOURCE). Reads nothing past the signature block. The stream is
 * destroyed on error; otherwise call close() when done.
 */
export async function openBundle(stream: Readable, keyring: Keyring, options: OpenOptions = {}): Promise<OpenedBundle> {
  const reader = new ByteReader(stream, options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  try {
    const head = await readHead(reader, options);
    // Signatures first: nothing unauthenticated reaches the protobuf decoder or the validator.
    const signedBy = verifyManifest(head.manifestBytes, head.signatures, keyring);
    const manifest = decodeValid(head.manifestBytes, options);
    const manifestSha256 = createHash('sha256').update(head.manifestBytes).digest();
    const payload = new PayloadReader(reader, manifest, payloadStart(head.header));
    return {
      manifest, manifestSha256, signedBy, payloadStart: payloadStart(head.header),
      images: (o) => payload.images(o),
      finish: () => payload.finish(),
      close: () => reader.close(),
    };
  } catch (e) {
    reader.close();
    throw e;
  }
}

/** Reads and decodes the head without checking signatures (for display only, never for install). */
export async function readUnverifiedHead(stream: Readable, options: OpenOptions = {}): Promise<BundleHead & { manifest: Manifest }> {
  const reader = new ByteReader(stream, options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  try {
    const head = await readHead(reader, options);
    return { ...head, manifest: decodeValid(head.manifestBytes, options) };
  } finally {
    reader.close();
  }
}

async function readHead(reader: ByteReader, options: OpenOptions): Promise<BundleHead> {
  const limits: BundleLimits = { ...DEFAULT_LIMITS, ...definedOnly(options) };
  const header = decodeHeader(await reader.readUpTo(HEADER_SIZE, 'header'), limits);
  const manifestBytes = await reader.read(header.manifestLength, 'manifest');
  const signatureBytes = await reader.read(header.signatureLength, 'signature block');
  return { header, manifestBytes, signatures: decodeSignatures(signatureBytes) };
}

function decodeValid(bytes: Buffer, options: OpenOptions): Manifest {
  const manifest = decodeManifest(bytes);
  validateManifest(manifest, options.maxImageBytes);
  return manifest;
}

function definedOnly(o: OpenOptions): Partial<BundleLimits> {
  const out: Partial<BundleLimits> = {};
  if (o.maxManifestBytes !== undefined) out.maxManifestBytes = o.maxManifestBytes;
  if (o.maxSignatureBytes !== undefined) out.maxSignatureBytes = o.maxSignatureBytes;
  if (o.maxImageBytes !== undefined) out.maxImageBytes = o.maxImageBytes;
  return out;
}
