// A serial line paced to 115200 baud 8N1 in software, between a pusher and a pty or socket that would go faster.
import { Duplex } from 'node:stream';

/** 115200 baud with 8N1 framing: 10 bits a byte. */
export const BYTES_PER_SECOND = 11_520;
/** A 16550's receive FIFO: the most bytes that leave the line in one go. */
const SLICE = 16;

/**
 * One direction of a paced line: bytes leave at BYTES_PER_SECOND in slices of SLICE, each arriving `latencyMs`
 * after it left (a USB serial adapter holds received bytes up to its latency timer, 16 ms by default on FTDI).
 * socat cannot throttle a pty (nor QEMU its 16550's input), so the pacing happens here, between the pusher and the line.
 */
class PacedDirection {
  private freeAt = 0;
  /** Slices in the order they left, each with when it arrives: one timer drains them, so none overtakes another. */
  private readonly queue: { due: number; bytes: Buffer }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deliver: (b: Buffer) => void, private readonly latencyMs: number) {}

  send(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; at += SLICE) {
      const slice = bytes.subarray(at, at + SLICE);
      this.freeAt = Math.max(this.freeAt, performance.now()) + (slice.length * 1000) / BYTES_PER_SECOND;
      this.queue.push({ due: this.freeAt + this.latencyMs, bytes: slice });
    }
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = performance.now();
      const ready: Buffer[] = [];
      while (this.queue.length > 0 && this.queue[0].due <= now) ready.push(this.queue.shift()!.bytes);
      if (ready.length > 0) this.deliver(Buffer.concat(ready));
      this.arm();
    }, Math.max(0, this.queue[0].due - performance.now()));
  }
}

/** The pusher's side of the line: its writes and the device's answers both paced (`port`: a tty or a socket). */
export function pacedLine(port: Duplex, latencyMs: number): { io: Duplex; close: () => void } {
  const toDevice = new PacedDirection((b) => port.write(b), latencyMs);
  const io = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) { toDevice.send(chunk); cb(); },
  });
  const toHost = new PacedDirection((b) => io.push(b), latencyMs);
  const onData = (d: Buffer) => toHost.send(d);
  port.on('data', onData);
  return { io, close: () => port.off('data', onData) };
}

