// Pulls exact byte counts from a Readable on demand: backpressure, idle timeout, typed EOF/errors.
import type { Readable } from 'node:stream';
import { AbuError, isAbuError } from '../core/errors';

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Largest piece read at once when skipping or checking padding, to keep memory bounded. */
const SCRATCH_SIZE = 64 * 1024;

/**
 * A stream that can also read at a byte position (counted from its first byte) straight into a
 * caller's buffer, resolving to the bytes read (0 at end). FileSource offers it: the reader then
 * fills the installer's aligned buffers with one pread per chunk, with no copy and no allocation.
 */
export interface PositionalReadable extends Readable {
  readAt(target: Buffer, position: number): Promise<number>;
}

function isPositional(stream: Readable): stream is PositionalReadable {
  return typeof (stream as Partial<PositionalReadable>).readAt === 'function' && stream.readableLength === 0 && !stream.readableFlowing;
}

/**
 * Reads the stream in paused mode: bytes are only pulled when a caller asks, so a slow consumer
 * (the disk) slows the source instead of filling memory. At most one piece of the stream's own
 * buffering is held beyond what the caller asked for.
 */
export class ByteReader {
  /** Absolute offset of the next byte a caller will get. */
  position = 0;
  private pending: Buffer | null = null;
  private failure: unknown = null;
  private ended = false;
  private readonly direct: PositionalReadable | null;
  private scratch: Buffer | null = null;

  constructor(private readonly stream: Readable, private readonly idleTimeoutMs: number = DEFAULT_IDLE_TIMEOUT_MS) {
    stream.on('error', (e) => { this.failure ??= e; });
    stream.on('end', () => { this.ended = true; });
    this.direct = isPositional(stream) ? stream : null;
  }

  /** Exactly n bytes into a new buffer, or into `target` (which must hold n). */
  async read(n: number, section: string, target: Buffer = Buffer.allocUnsafe(n)): Promise<Buffer> {
    const filled = await this.fill(target, n, section);
    if (filled < n) throw this.truncated(section, n - filled);
    return target.subarray(0, n);
  }

  /**
   * Up to n bytes: fewer only when the stream ends first. The header is read this way so that a short file can be
   * told apart: a few bytes of text are "not an abu bundle", only a cut-off bundle is "truncated".
   */
  async readUpTo(n: number, section: string): Promise<Buffer> {
    const target = Buffer.allocUnsafe(n);
    return target.subarray(0, await this.fill(target, n, section));
  }

  /** Fills target[0, n) from the stream; returns how many bytes came before its end. */
  private async fill(target: Buffer, n: number, section: string): Promise<number> {
    let filled = 0;
    while (filled < n) {
      if (this.direct !== null) {
        const got = await this.readDirect(target.subarray(filled, n), this.position, section);
        if (got === 0) break;
        this.position += got;
        filled += got;
        continue;
      }
      const piece = await this.nextOrEnd(n - filled, section, n - filled);
      if (piece === null) break;
      piece.copy(target, filled);
      filled += piece.length;
    }
    return filled;
  }

  /** Reads n bytes that must be zero (padding). */
  async expectZeros(n: number, section: string): Promise<void> {
    let left = n;
    while (left > 0) {
      const start = this.position;
      const piece = await this.next(Math.min(left, SCRATCH_SIZE), section, left);
      const bad = piece.findIndex((b) => b !== 0);
      if (bad >= 0) throw new AbuError('ABU_ERR_BUNDLE_PADDING', `${section}: byte at offset ${start + bad} is 0x${piece[bad].toString(16)}, padding must be zero`, { details: { section, offset: start + bad } });
      left -= piece.length;
    }
  }

  /** Discards n bytes without looking at them (a positional source seeks, after checking the last byte exists). */
  async skip(n: number, section: string): Promise<void> {
    if (this.direct !== null && this.pending === null && n > 0) {
      this.scratch ??= Buffer.allocUnsafe(SCRATCH_SIZE);
      const got = await this.readDirect(this.scratch.subarray(0, 1), n - 1 + this.position, section);
      if (got === 0) throw this.truncated(section, n);
      this.position += n;
      return;
    }
    let left = n;
    while (left > 0) left -= (await this.next(Math.min(left, SCRATCH_SIZE), section, left)).length;
  }

  /** Resolves when the stream ends with no further byte; throws ABU_ERR_BUNDLE_TRAILING otherwise. */
  async expectEnd(): Promise<void> {
    const piece = await this.pull('end of bundle', 1, 0);
    if (piece !== null) {
      throw new AbuError('ABU_ERR_BUNDLE_TRAILING', `bundle has bytes after its last payload, starting at offset ${this.position}`, { details: { offset: this.position } });
    }
  }

  close(): void {
    this.pending = null;
    if (!this.stream.destroyed) this.stream.destroy();
  }

  /** Up to `max` bytes (at least one), advancing the position; EOF is a truncation of `section`. */
  private async next(max: number, section: string, missing: number): Promise<Buffer> {
    const piece = await this.nextOrEnd(max, section, missing);
    if (piece === null) throw this.truncated(section, missing);
    return piece;
  }

  /** Up to `max` bytes (at least one), advancing the position, or null at the end of the stream. */
  private async nextOrEnd(max: number, section: string, missing: number): Promise<Buffer | null> {
    const piece = await this.pull(section, max, missing);
    if (piece === null) return null;
    const taken = piece.length > max ? piece.subarray(0, max) : piece;
    this.pending = piece.length > max ? piece.subarray(max) : null;
    this.position += taken.length;
    return taken;
  }

  /** The next piece (the caller consumes it before pulling again), or null at the end. */
  private async pull(section: string, max: number, missing: number): Promise<Buffer | null> {
    if (this.pending !== null) return this.pending;
    if (this.direct !== null) {
      this.scratch ??= Buffer.allocUnsafe(SCRATCH_SIZE);
      const got = await this.readDirect(this.scratch.subarray(0, Math.min(max, SCRATCH_SIZE)), this.position, section);
      return got === 0 ? null : this.scratch.subarray(0, got);
    }
    for (;;) {
      this.throwIfFailed(section);
      const chunk: unknown = this.stream.read();
      if (chunk !== null) return typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      if (this.ended || this.stream.readableEnded) return null;
      if (this.stream.destroyed) this.failure ??= this.stream.errored ?? new Error('the source stream was closed before it ended');
      else await this.waitForData(section, missing);
    }
  }

  private async readDirect(target: Buffer, position: number, section: string): Promise<number> {
    try {
      return await (this.direct as PositionalReadable).readAt(target, position);
    } catch (e) {
      this.failure ??= e;
      throw this.sourceError(section);
    }
  }

  private truncated(section: string, missing: number): AbuError {
    return new AbuError('ABU_ERR_BUNDLE_TRUNCATED', `bundle ends at offset ${this.position} inside the ${section}; ${missing} more bytes were expected`, { details: { section, offset: this.position, missing } });
  }

  private throwIfFailed(section: string): void {
    if (this.failure !== null) throw this.sourceError(section);
  }

  /**
   * A source that stopped for a reason with a code of its own (a cancel, a URL that failed, an upload over the
   * slot size, a serial SHA-256 mismatch) keeps that code, so the operator and the state record see why it
   * stopped; only an uncoded stream error or a stall is ABU_ERR_SOURCE.
   */
  private sourceError(section: string): AbuError {
    const cause = this.failure as Error;
    const where = { section, offset: this.position };
    if (isAbuError(cause)) return new AbuError(cause.code, `${cause.message} (at bundle offset ${this.position}, reading the ${section})`, { cause, details: { ...cause.details, ...where } });
    return new AbuError('ABU_ERR_SOURCE', `bundle source failed at offset ${this.position} while reading the ${section}: ${cause.message ?? String(cause)}`, { cause, details: where });
  }

  private waitForData(section: string, missing: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.stream.off('readable', done).off('end', done).off('error', done).off('close', done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.failure ??= new Error(`no data for ${this.idleTimeoutMs} ms (${missing} bytes of the ${section} still expected): the source stalled`);
        done();
      }, this.idleTimeoutMs);
      this.stream.on('readable', done).on('end', done).on('error', done).on('close', done);
    });
  }
}
