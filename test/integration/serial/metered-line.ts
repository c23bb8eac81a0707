// Test and bench helper: the host's end of a serial line that counts what the pusher writes, and can be cut or damage frames.
import { Duplex } from 'node:stream';
import { cobsDecode } from '../../../engine/transports/serial/cobs';

export type Damage = 'flip' | 'drop';

export interface MeteredLine {
  io: Duplex;
  /** Bytes the pusher put on the line (up to the cut). */
  written: () => number;
  close: () => void;
}

/**
 * Counts the bytes the pusher writes to `port` (a tty, or a paced line). After `cutAt` bytes the cable is pulled:
 * nothing more reaches the device, and the pusher (whose process a real cut would kill) is told so with an ERR line,
 * which stops it at once. The cut falls inside a frame, so the device holds half a frame when the line goes quiet.
 * `damage` spoils the first send of the binary frames named by seq, as a noisy line would.
 */
export function meteredLine(port: Duplex, o: { cutAt?: number; damage?: Map<number, Damage> } = {}): MeteredLine {
  let written = 0;
  let cut = false;
  const io = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      if (cut) return cb();
      if (written + chunk.length > (o.cutAt ?? Infinity)) {
        cut = true;
        io.push('ERR ABU_ERR_SERIAL_TIMEOUT test: the line was cut\r\n');
        const part = o.cutAt! - written;
        written += part;
        return port.write(chunk.subarray(0, part), cb);
      }
      written += chunk.length;
      const seq = Buffer.isBuffer(chunk) && chunk[0] === 0 && chunk.length > 8 ? cobsDecode(chunk.subarray(1, -1)).readUInt32BE(0) : -1;
      const how = o.damage?.get(seq);
      o.damage?.delete(seq);
      if (how === 'drop') return cb();
      const out = how === 'flip' ? Buffer.from(chunk) : chunk;
      if (how === 'flip') out[out.length >> 1] ^= 0x5a;
      port.write(out, cb);
    },
  });
  const onData = (d: Buffer) => { if (!cut) io.push(d); };
  port.on('data', onData);
  return { io, written: () => written, close: () => port.off('data', onData) };
}
