// Pulls exact byte counts from a Readable on demand: backpressure, idle timeout, typed EOF/errors.
import type { Readable } from 'node:stream';
import { AbuError } from '../core/errors';

export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
/** Largest piece read at once when skipping or checking padding, to keep memory bounded. */
const SCRATCH_SIZE = 64 * 1024;

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

  constructor(private readonly stream: Readable, private readonly idleTimeoutMs: number = DEFAULT_IDLE_TIMEOUT_MS) {
    stream.on('error', (e) => { this.failure ??= e; });
    stream.on('end', () => { this.ended = true; });
  }

  /** Exactly n bytes into a new buffer, or into `target` (which must hold n). */
  async read(n: number, section: string, target: Buffer = Buffer.allocUnsafe(n)): Promise<Buffer> {
    let filled = 0;
    while (filled < n) {
      const piece = await this.next(n - filled, section, n - filled);
      piece.copy(target, filled);
      filled += piece.length;
    }
    return target.subarray(0, n);
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

  /** Discards n bytes without looking at them. */
  async skip(n: number, section: string): Promise<void> {
    let left = n;
    while (left > 0) left -= (await this.next(Math.min(left, SCRATCH_SIZE), section, left)).length;
  }

  /** Resolves when the stream ends with no further byte; throws ABU_ERR_BUNDLE_TRAILING otherwise. */
  async expectEnd(): Promise<void> {
    const piece = await this.pull('end of bundle', 0);
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
    const piece = await this.pull(section, missing);
    if (piece === null) {
      throw new AbuError('ABU_ERR_BUNDLE_TRUNCATED', `bundle ends at offset ${this.position} inside the ${section}; ${missing} more bytes were expected`, { details: { section, offset: this.position, missing } });
    }
    const taken = piece.length > max ? piece.subarray(0, max) : piece;
    this.pending = piece.length > max ? piece.subarray(max) : null;
    this.position += taken.length;
    return taken;
  }

  private async pull(section: string, missing: number): Promise<Buffer | null> {
    if (this.pending !== null) return this.pending;
    for (;;) {
      this.throwIfFailed(section);
      const chunk: unknown = this.stream.read();
      if (chunk !== null) return typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      if (this.ended || this.stream.readableEnded) return null;
      if (this.stream.destroyed) this.failure ??= this.stream.errored ?? new Error('the source stream was closed before it ended');
      else await this.waitForData(section, missing);
    }
  }

  private throwIfFailed(section: string): void {
    if (this.failure === null) return;
    const cause = this.failure as Error;
    throw new AbuError('ABU_ERR_SOURCE', `bundle source failed at offset ${this.position} while reading the ${section}: ${cause.message ?? String(cause)}`, { cause, details: { section, offset: this.position } });
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
