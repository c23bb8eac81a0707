// Shared helpers for the bundle tests: read a whole bundle, expect an error code, seeded randomness.
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { isAbuError, type AbuError, type AbuErrorCode } from '../../../engine/core/errors';
import { openBundle, type Keyring, type Manifest, type OpenOptions } from '../../../engine/bundle/bundle-reader';
import { bufferStream } from '../../helpers/bundle-fixtures';

export interface ReadResult {
  manifest: Manifest;
  signedBy: string[];
  /** Each image's bytes, reassembled from its chunks. */
  images: Buffer[];
}

/** Opens, streams every chunk (verifying when asked), finishes and closes: the whole reader path. */
export async function readBundle(source: Buffer | Readable, keyring: Keyring, options: OpenOptions & { verifyChunks?: boolean; pieceSize?: number } = {}): Promise<ReadResult> {
  const stream = Buffer.isBuffer(source) ? bufferStream(source, options.pieceSize ?? 4096) : source;
  const bundle = await openBundle(stream, keyring, options);
  try {
    const images: Buffer[] = [];
    for await (const { entry, chunks } of bundle.images({ verifyChunks: options.verifyChunks ?? true })) {
      const parts: Buffer[] = [];
      for await (const chunk of chunks) {
        assert.equal(chunk.image, entry);
        assert.equal(chunk.offset, chunk.index * entry.chunkSize);
        parts.push(chunk.data);
      }
      images.push(Buffer.concat(parts));
    }
    await bundle.finish();
    return { manifest: bundle.manifest, signedBy: bundle.signedBy, images };
  } finally {
    bundle.close();
  }
}

/** Awaits a rejection with an AbuError whose code is one of `codes`; returns it for more checks. */
export async function expectCode(promise: Promise<unknown>, codes: AbuErrorCode | AbuErrorCode[], label = ''): Promise<AbuError> {
  const allowed = Array.isArray(codes) ? codes : [codes];
  try {
    await promise;
  } catch (e) {
    assert.ok(isAbuError(e), `${label}: expected an AbuError, got ${(e as Error)?.stack ?? String(e)}`);
    assert.ok(allowed.includes(e.code), `${label}: expected ${allowed.join('|')}, got ${e.code}: ${e.message}`);
    return e;
  }
  assert.fail(`${label}: expected ${allowed.join('|')}, but it succeeded`);
}

/** mulberry32: reproducible "random" cases, so a failure can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(rand: () => number, below: number): number {
  return Math.floor(rand() * below);
}
