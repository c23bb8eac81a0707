// Errors raised by the native facades: NativeIoError mirrors Node's fs errors; VerifyError reports a checksum mismatch.

/** The fields every native I/O failure carries, named as in Node's fs errors (errno is negative, like Node's). */
export interface NativeIoErrorFields {
  code: string;
  errno: number;
  syscall: string;
  path: string;
  offset?: number;
}

/** A failed syscall: `code` 'EIO', `errno` -5, `syscall` 'write', `path` '/dev/vdb', `offset` of the transfer. */
export class NativeIoError extends Error implements NativeIoErrorFields {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string;
  readonly offset?: number;

  constructor(message: string, fields: NativeIoErrorFields) {
    super(message);
    this.name = 'NativeIoError';
    this.code = fields.code;
    this.errno = fields.errno;
    this.syscall = fields.syscall;
    this.path = fields.path;
    if (fields.offset !== undefined) this.offset = fields.offset;
  }
}

/** A chunk whose CRC-32 or SHA-256 did not match; nothing of it was written. Digests are lowercase hex. */
export class VerifyError extends Error {
  readonly kind: 'crc32' | 'sha256';
  readonly expected: string;
  readonly actual: string;
  readonly offset: number;

  constructor(kind: 'crc32' | 'sha256', expected: string, actual: string, offset: number) {
    super(`${kind} mismatch for the chunk at offset ${offset}: expected ${expected}, computed ${actual}; nothing was written`);
    this.name = 'VerifyError';
    this.kind = kind;
    this.expected = expected;
    this.actual = actual;
    this.offset = offset;
  }
}

interface RawNativeError {
  message: string;
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  path?: unknown;
  offset?: unknown;
  verifyKind?: unknown;
  expected?: unknown;
  actual?: unknown;
}

/**
 * Turns an addon rejection into NativeIoError or VerifyError. Created here rather than in C++ so the
 * stack shows the awaiting JS callers; anything else (TypeError from bad arguments) passes through.
 */
export function fromNative(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const raw = e as RawNativeError;
  const offset = typeof raw.offset === 'number' ? raw.offset : undefined;
  if (raw.verifyKind === 'crc32' || raw.verifyKind === 'sha256') {
    return new VerifyError(raw.verifyKind, String(raw.expected), String(raw.actual), offset ?? 0);
  }
  if (typeof raw.code !== 'string' || typeof raw.errno !== 'number' || typeof raw.syscall !== 'string') return e;
  const fields: NativeIoErrorFields = { code: raw.code, errno: raw.errno, syscall: raw.syscall, path: String(raw.path) };
  if (offset !== undefined) fields.offset = offset;
  return new NativeIoError(raw.message, fields);
}

/** Awaits an addon promise, converting its rejection with fromNative(). */
export async function nativeCall<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (e) {
    throw fromNative(e);
  }
}
