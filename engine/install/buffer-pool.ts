// A fixed set of aligned chunk buffers: memory stays flat whatever the image size, and across installs.
import { allocAligned } from '../../native/block-io';

/**
 * The pool of the last install that gave every buffer back, kept for the next one of the same geometry:
 * a daemon installs again and again, and a fresh pool each time left the previous one's 8-16 MiB mapped
 * until a full GC happened to run. Taken out while an install uses it, so two installs in one process
 * (simulated site members) never share one.
 */
let kept: BufferPool | null = null;

export class BufferPool {
  private readonly freeList: Buffer[] = [];

  constructor(readonly bufferSize: number, readonly count: number) {
    for (let i = 0; i < count; i++) this.freeList.push(allocAligned(bufferSize));
  }

  /** The kept pool when it has this geometry, else a new one; hand it back with release() when done. */
  static acquire(bufferSize: number, count: number): BufferPool {
    const reuse = kept !== null && kept.bufferSize === bufferSize && kept.count === count;
    const pool = reuse ? kept! : new BufferPool(bufferSize, count);
    if (reuse) kept = null;
    return pool;
  }

  /** Keeps this pool for the next acquire(), unless a buffer is still out (a failed run: let it go). */
  release(): void {
    if (this.freeList.length === this.count) kept = this;
  }

  /**
   * A buffer viewed to exactly `size` bytes. The writer keeps at most count-1 chunks in flight,
   * so one buffer is always free for the reader; running out is a bug, not back-pressure.
   */
  take(size: number): Buffer {
    if (size > this.bufferSize) throw new RangeError(`chunk of ${size} bytes exceeds pool buffer ${this.bufferSize}`);
    const buf = this.freeList.pop();
    if (!buf) throw new Error('buffer pool exhausted: more chunks in flight than the pool holds');
    return buf.subarray(0, size);
  }

  /** Buffers not taken now. */
  get free(): number {
    return this.freeList.length;
  }

  /** A buffer like take(), or null when none is free (a reader working ahead only while a buffer is spare). */
  tryTake(size: number): Buffer | null {
    return this.freeList.length > 0 ? this.take(size) : null;
  }

  /**
   * zstd chunks decompressed ahead of the writer in this pool's spare buffers: up to count-1 of them, as many as
   * the writer's chunks in flight leave free (see payload-reader.ts).
   */
  ahead(): { count: number; capacity: number; tryAllocate: (size: number) => Buffer | null; release: (buf: Buffer) => void } {
    return { count: this.count - 1, capacity: this.bufferSize, tryAllocate: (n) => this.tryTake(n), release: (b) => this.give(b) };
  }

  /** Return a buffer obtained from take(); its full-size backing view goes back to the pool. */
  give(view: Buffer): void {
    this.freeList.push(Buffer.from(view.buffer, view.byteOffset, this.bufferSize));
  }
}
