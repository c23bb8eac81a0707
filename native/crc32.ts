// Checksums from the addon: zlib-compatible CRC-32 (VPCLMUL, PCLMUL or slice-by-8) and SHA-256 off the main thread.
import { binding } from './binding';

function assertBytes(buf: unknown, what: string): asserts buf is Uint8Array {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${what} must be a Buffer or Uint8Array`);
}

/** IEEE CRC-32 as zlib computes it; `seed` chains: crc32(b, crc32(a)) === crc32(a ++ b). Runs on the caller's thread. */
export function crc32(buf: Uint8Array, seed = 0): number {
  assertBytes(buf, 'crc32 input');
  return binding().crc32(buf, seed >>> 0) as number;
}

/** The same CRC computed in the libuv threadpool; do not modify `buf` until the promise settles. */
export function crc32Async(buf: Uint8Array): Promise<number> {
  assertBytes(buf, 'crc32Async input');
  return binding().crc32Async(buf) as Promise<number>;
}

export type Crc32KernelName = 'vpclmul-avx512' | 'pclmul' | 'slice-by-8';

/** One named kernel, whichever crc32() would pick (tests check every kernel the CPU supports). Throws if unsupported. */
export function crc32WithKernel(kernel: Crc32KernelName, buf: Uint8Array, seed = 0): number {
  assertBytes(buf, 'crc32WithKernel input');
  return binding().crc32WithKernel(kernel, buf, seed >>> 0) as number;
}

export interface Crc32Info {
  /** The kernel crc32() uses on this CPU: the fastest available. */
  kernel: Crc32KernelName;
  kernels: Array<{ name: Crc32KernelName; available: boolean }>;
  /** The folding constants: low = reflect32(x^(D+32) mod P) << 1, high = reflect32(x^(D-32) mod P) << 1. */
  foldConstants: Array<{ distanceBits: number; low: number; high: number }>;
}

export function crc32Info(): Crc32Info {
  return binding().crc32Info() as Crc32Info;
}

/** One-shot SHA-256 in the threadpool (Node's OpenSSL); do not modify `buf` until the promise settles. */
export function sha256Async(buf: Uint8Array): Promise<Buffer> {
  assertBytes(buf, 'sha256Async input');
  return binding().sha256Async(buf) as Promise<Buffer>;
}

interface Sha256Native {
  update(buf: Uint8Array): Promise<void>;
  digest(): Buffer;
}

/**
 * Incremental SHA-256 for whole-image read-back: each update() hashes in the threadpool, and updates
 * are applied in call order even when the caller does not await them. A buffer must stay unmodified
 * until its update() settles. digest() needs every update settled; after a failed update it throws.
 */
export class Sha256Stream {
  private readonly native: Sha256Native = new (binding().Sha256Native as new () => Sha256Native)();
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private failure: unknown;

  update(buf: Uint8Array): Promise<void> {
    assertBytes(buf, 'Sha256Stream.update input');
    this.pending++;
    const run = this.chain.then(() => {
      if (this.failure !== undefined) throw this.failure;
      return this.native.update(buf);
    });
    this.chain = run.then(
      () => { this.pending--; },
      (e: unknown) => { this.pending--; this.failure ??= e; },
    );
    return run;
  }

  digest(): Buffer {
    if (this.pending > 0) throw new Error('Sha256Stream.digest() called before every update() settled');
    if (this.failure !== undefined) throw this.failure;
    return this.native.digest();
  }
}
