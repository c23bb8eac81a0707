// A fixed set of aligned chunk buffers: memory stays flat whatever the image size.
import { allocAligned } from '../../native/block-io';

export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(readonly bufferSize: number, readonly count: number) {
    for (let i = 0; i < count; i++) this.free.push(allocAligned(bufferSize));
  }

  /**
   * A buffer viewed to exactly `size` bytes. The writer keeps at most count-1 chunks in flight,
   * so one buffer is always free for the reader; running out is a bug, not back-pressure.
   */
  take(size: number): Buffer {
    if (size > this.bufferSize) throw new RangeError(`chunk of ${size} bytes exceeds pool buffer ${this.bufferSize}`);
    const buf = this.free.pop();
    if (!buf) throw new Error('buffer pool exhausted: more chunks in flight than the pool holds');
    return buf.subarray(0, size);
  }

  /** Return a buffer obtained from take(); its full-size backing view goes back to the pool. */
  give(view: Buffer): void {
    this.free.push(Buffer.from(view.buffer, view.byteOffset, this.bufferSize));
  }
}
