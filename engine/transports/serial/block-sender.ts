// The host's block sender: up to `window` CRC-checked blocks in flight, each resent alone when NAKed or when the line goes quiet.
import type { FileHandle } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { AbuError } from '../../core/errors';
import { deviceError, type LineReader, type PushOptions } from './push-client';

/** How blocks go on the wire: D lines of base64 (console-protocol.ts) or binary frames (binary-frame.ts). */
export interface BlockCodec {
  blockBytes: number;
  encode(seq: number, data: Buffer): string | Buffer;
}

/** Where a block's bytes lie in the bundle file. */
interface BlockPlace {
  at: number;
  length: number;
}

/**
 * Selective repeat over the console's line protocol. The device answers every block by number (`OK <seq>`,
 * `NAK <seq> <reason>`, `NAK <seq> missing` for a gap it saw), so only the blocks named are sent again; silence
 * for `ackTimeoutMs` resends the oldest unacknowledged one. A window of 1 is the stop-and-wait of older pushers.
 * Blocks are numbered in the order they are queued: the whole file (`run`), or the ranges a device asks for with
 * GET lines (`add`, driven by ranged-push.ts), each cut into blocks of its own so no block spans two ranges.
 */
export class BlockSender {
  private readonly places: BlockPlace[] = [];
  /** Lowest block not yet acknowledged: everything below it is in the device's pipe or held there. */
  private base = 0;
  private nextToSend = 0;
  private readonly acked = new Set<number>();
  private readonly sends = new Map<number, number>();
  private readonly encoded = new Map<number, string | Buffer>();
  retransmits = 0;
  /** Bundle bytes the device acknowledged (first sends and resends counted once). */
  bytesAcked = 0;
  /** Bundle bytes queued: the file's size, or what the device asked for so far (the progress line's total). */
  private bytesQueued = 0;
  /** When the line last moved this upload on (a send or a new answer): PROGRESS lines alone must not hold off a resend. */
  private lastMove = Date.now();

  constructor(private readonly io: Duplex, private readonly reader: LineReader, private readonly fh: FileHandle,
    private readonly size: number, private readonly window: number, private readonly codec: BlockCodec, private readonly o: PushOptions) {}

  /** Queues bytes [start, start+length) of the file as blocks of at most blockBytes. */
  add(start: number, length: number): void {
    this.bytesQueued += length;
    for (let at = start; at < start + length; at += this.codec.blockBytes) this.places.push({ at, length: Math.min(this.codec.blockBytes, start + length - at) });
  }

  /** True when every queued block was acknowledged. */
  get idle(): boolean {
    return this.base >= this.places.length;
  }

  /** Sends the whole file; resolves when the device acknowledged every block. */
  async run(): Promise<void> {
    this.add(0, this.size);
    while (!this.idle) {
      const line = await this.step();
      if (line !== null) await this.answer(line);
    }
  }

  /** Fills the window, then waits for the device's next line; silence resends the oldest block (null). */
  async step(): Promise<string | null> {
    while (this.nextToSend < Math.min(this.base + this.window, this.places.length)) await this.send(this.nextToSend++);
    const left = this.lastMove + (this.o.ackTimeoutMs ?? 5000) - Date.now();
    const line = left > 0 ? await this.reader.next(left).catch(() => null) : null;
    // Silence: the oldest block or its answer was lost.
    if (line === null) await this.send(this.base);
    return line;
  }

  /** Handles a device line about blocks; false when the line is none of OK/NAK/ERR/PROGRESS (the caller's to read). */
  async answer(line: string): Promise<boolean> {
    const m = /^(OK|NAK) ([0-9]+|-)(?: |$)/.exec(line);
    // The device's answer to a line that is neither a block nor END: one of ours, its `D` lost to noise.
    if (line.startsWith('ERR ABU_ERR_BUSY ')) return this.unnamedNak();
    if (line.startsWith('ERR ')) throw deviceError(line);
    if (line.startsWith('PROGRESS ')) return void this.o.onProgress?.({ sent: -1, total: -1, deviceLine: line }), true;
    if (!m) return false; // noise, a result line, or an answer from before this upload
    if (m[2] === '-') return this.unnamedNak();
    const seq = Number(m[2]);
    if (seq < this.base || seq >= this.nextToSend || this.acked.has(seq)) return true; // a late answer to a resend
    if (m[1] === 'NAK') return this.send(seq).then(() => true);
    this.acked.add(seq);
    this.encoded.delete(seq);
    this.lastMove = Date.now();
    while (this.acked.delete(this.base)) this.bytesAcked += this.places[this.base++].length;
    this.o.onProgress?.({ sent: this.bytesAcked, total: this.bytesQueued });
    return true;
  }

  /**
   * A block the device could not number: with one block in flight it is that one; with more, the device names
   * the gap when the next block arrives (or the silence resends it).
   */
  private async unnamedNak(): Promise<boolean> {
    if (this.nextToSend - this.base - this.acked.size === 1) await this.send(this.base);
    return true;
  }

  private async send(seq: number): Promise<void> {
    if (seq >= this.places.length) return; // nothing queued (a ranged push waiting for its next GET)
    const sent = this.sends.get(seq) ?? 0;
    const attempts = this.o.attempts ?? 8;
    if (sent >= attempts) throw new AbuError('ABU_ERR_SERIAL_TIMEOUT', `block ${seq} was not accepted after ${attempts} sends; the line is too noisy or the device stopped`);
    this.sends.set(seq, sent + 1);
    this.lastMove = Date.now();
    if (sent > 0) this.retransmits++;
    let block = this.encoded.get(seq);
    if (block === undefined) {
      block = await this.encode(seq);
      this.encoded.set(seq, block);
    }
    // One write per block, so a block is never interleaved with anything else the host writes.
    this.io.write(block);
  }

  private async encode(seq: number): Promise<string | Buffer> {
    const { at, length } = this.places[seq];
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.fh.read(buf, 0, length, at);
    return this.codec.encode(seq, buf.subarray(0, bytesRead));
  }
}
