// One bundle upload over the console: blocks in order into a bounded pipe the engine installs from (whole, SHA-256 checked before
// the end; or, with ranges, only the byte ranges the device asks for).
import { faultPoint } from '../../core/fault-point';
import { createHash } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { AbuError, isAbuError } from '../../core/errors';
import type { Engine, InstallOptions, InstallResult } from '../../facade';
import type { OpenOptions } from '../../sources/image-source';
import { StreamSource } from '../../sources/stream-source';
import { decodeFrame } from './binary-frame';
import { decodeBlock, type DataBlock, type InstallAnnounce } from './console-protocol';
import { SerialRangeReader } from './serial-ranges';

/** Bytes buffered between the serial line and the installer: a few blocks, so memory stays flat. */
const PIPE_BYTES = 256 * 1024;

/**
 * A StreamSource that says when the engine opened it, i.e. when the install got past the busy lock; `onOpen` may
 * hand back the head stream of a ranged upload instead (the install is adaptive: it asked for the head only).
 */
class NotifyingSource extends StreamSource {
  constructor(stream: Readable, size: number, private readonly onOpen: (adaptive: boolean) => Readable | null) {
    super(stream, 'serial console upload', size);
  }

  override async open(_signal?: AbortSignal, options?: OpenOptions): Promise<Readable> {
    const s = await super.open();
    return this.onOpen(options?.headBytes !== undefined) ?? s;
  }
}

export interface UploadTransfer {
  /** Blocks the host may have in flight (1: stop-and-wait, what a host that announces none gets). */
  window: number;
  /** The host offered `ranges`: an adaptive install then asks for the bytes it lacks with GET lines. */
  ranges: boolean;
  /** Sends one line to the host (a GET). */
  say: (line: string) => void;
}

export class SerialUpload {
  private readonly hash = createHash('sha256');
  private readonly pipe = new PassThrough({ highWaterMark: PIPE_BYTES });
  private readonly abort = new AbortController();
  private received = 0;
  private nextSeq = 0;
  /** Blocks that arrived ahead of `nextSeq` within the window: at most window-1 of them, so memory stays bounded. */
  private readonly held = new Map<number, Buffer>();
  /** Blocks already NAKed (damaged or missing) and not yet taken: each gap is named once, not once per later block. */
  private readonly naked = new Set<number>();
  private ended = false;
  /** Why this side stopped the upload: the engine reports it as a source failure, this keeps the precise code. */
  private failure: AbuError | null = null;
  /** Settles with the engine's answer; never rejects unhandled (see `settled`). */
  readonly result: Promise<InstallResult>;
  readonly settled: Promise<void>;
  private readonly opened: Promise<void>;
  private readonly window: number;
  /** Bytes the host is to send in all: the announced size, or with ranges the sum of the GETs so far. */
  private expected: number;
  /** Set when the install asked for the head only and the host offered ranges. */
  private ranges: SerialRangeReader | null = null;
  private granted!: () => void;
  /** Resolved once the console said READY: no GET may reach the host before it. */
  private readonly readySaid = new Promise<void>((resolve) => { this.granted = resolve; });

  constructor(engine: Engine, private readonly announce: InstallAnnounce, options: Pick<InstallOptions, 'acceptIrreversible' | 'activate' | 'adaptive'> = {},
    private readonly transfer: UploadTransfer = { window: 1, ranges: false, say: () => undefined }) {
    this.window = transfer.window;
    this.expected = announce.size;
    let onOpen!: () => void;
    this.opened = new Promise((resolve) => { onOpen = resolve; });
    const source = new NotifyingSource(this.pipe, announce.size, (adaptive) => {
      onOpen();
      return adaptive && transfer.ranges ? this.rangedHead() : null;
    });
    this.result = engine.install(source, { ...options, signal: this.abort.signal });
    this.settled = this.result.then(() => undefined, () => undefined);
    // With ranges nobody reads the pipe to its end: let it go with the install.
    void this.settled.then(() => this.pipe.destroy());
  }

  /**
   * The install is adaptive and the host can seek: the engine reads the head from GETs, then asks for the chunks it
   * lacks. The whole-bundle SHA-256 cannot be checked on bytes that never cross; the signatures over the manifest,
   * each chunk's signed SHA-256 before it is written and the payload's end against the announced SIZE stand instead.
   */
  private rangedHead(): Readable {
    this.expected = 0;
    this.ranges = new SerialRangeReader(this.pipe, this.announce.size, (start, length) => this.ask(start, length));
    // A failure between two ranges finds no reader: the next range() throws it (pipe.errored) instead of an unhandled 'error'.
    this.pipe.on('error', () => undefined);
    return this.ranges.head();
  }

  private async ask(start: number, length: number): Promise<void> {
    await this.readySaid;
    if (this.pipe.destroyed) throw this.pipe.errored ?? this.failure ?? new AbuError('ABU_ERR_SOURCE', 'serial upload closed');
    this.expected += length;
    this.transfer.say(`GET ${start} ${length}`);
  }

  /** True once the install took the ranges offer: READY says `ranges`, and the host answers GET lines. */
  get ranged(): boolean {
    return this.ranges !== null;
  }

  /** The console said READY: GET lines may go out from now on. */
  ready(): void {
    this.granted();
  }

  /** Resolves once the engine reads from the upload; rejects with its error (ABU_ERR_BUSY, ...) otherwise. */
  async started(): Promise<void> {
    await Promise.race([this.opened, this.result.then(() => undefined)]);
  }

  get bytesReceived(): number {
    return this.received;
  }

  /** True after END (or a failure), or with ranges while no GET waits for bytes: the host owes nothing now. */
  get done(): boolean {
    return this.ended || (this.ranges !== null && this.received === this.expected);
  }

  /**
   * Handles a block, a D line or a binary frame (binary-frame.ts); the answer lines are `OK <seq>` once the bytes are in the pipe or held within the window
   * (so a slow disk slows the sender), `NAK <seq> <reason>` for a block to send again, and `NAK <seq> missing`
   * for a gap before a later block (a serial line keeps order, so a gap is a block lost on the way). Throws only
   * when the upload cannot go on.
   */
  async block(line: string | Buffer): Promise<string[]> {
    let seq: number;
    let data: Buffer;
    try {
      ({ seq, data } = decode(line));
    } catch (e) {
      const d = isAbuError(e) ? e.details : {};
      if (typeof d.seq === 'number' && d.seq >= this.nextSeq && d.seq < this.nextSeq + this.window) this.naked.add(d.seq);
      return [`NAK ${d.seq ?? '-'} ${String(d.reason ?? 'malformed')}`];
    }
    if (this.ended) throw new AbuError('ABU_ERR_SERIAL_BLOCK', `block ${seq} arrived after END`);
    if (seq < this.nextSeq) return [`OK ${seq}`]; // a retransmit whose OK was lost: already taken, ignore it
    if (seq >= this.nextSeq + this.window) return [`NAK ${seq} out-of-order expected ${this.nextSeq}`];
    if (seq > this.nextSeq) {
      this.held.set(seq, data);
      return [...this.gapNaks(seq), `OK ${seq}`];
    }
    await this.take(seq, data);
    for (let next = this.held.get(this.nextSeq); next; next = this.held.get(this.nextSeq)) {
      this.held.delete(this.nextSeq);
      await this.take(this.nextSeq, next);
    }
    return [`OK ${seq}`];
  }

  /** NAKs for the blocks before `seq` that neither arrived nor were NAKed already. */
  private gapNaks(seq: number): string[] {
    const out: string[] = [];
    for (let s = this.nextSeq; s < seq; s++) {
      if (this.held.has(s) || this.naked.has(s)) continue;
      this.naked.add(s);
      out.push(`NAK ${s} missing`);
    }
    return out;
  }

  /** Streams the next block in order into the install. */
  private async take(seq: number, data: Buffer): Promise<void> {
    if (this.received + data.length > this.expected) {
      throw new AbuError('ABU_ERR_SERIAL_BLOCK', this.ranges ? `block ${seq} goes past the ${this.expected} bytes asked for` : `block ${seq} goes past the announced ${this.announce.size} bytes`);
    }
    this.hash.update(data);
    this.received += data.length;
    this.nextSeq++;
    this.naked.delete(seq);
    if (!this.pipe.write(data)) await this.drained();
    faultPoint('serial.after-block');
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { this.pipe.off('drain', done).off('close', done); resolve(); };
      this.pipe.on('drain', done).on('close', done);
      void this.settled.then(done);
    });
  }

  /** END: the stream ends only when every announced byte arrived and the SHA-256 matches, else it errors. */
  end(): void {
    if (this.ended || this.ranges) return; // with ranges the device asks for what it needs; the final OK or ERR ends it
    this.ended = true;
    if (this.received !== this.announce.size) {
      return this.fail(new AbuError('ABU_ERR_SOURCE', `serial upload ended after ${this.received} of the ${this.announce.size} announced bytes`));
    }
    const digest = this.hash.digest('hex');
    if (digest !== this.announce.sha256) {
      return this.fail(new AbuError('ABU_ERR_SERIAL_SHA256', `uploaded bytes hash to ${digest}, not the announced ${this.announce.sha256}; nothing was activated`));
    }
    this.pipe.end();
  }

  /** Makes the engine's read fail, so the install stops before anything is activated. */
  fail(e: AbuError): void {
    this.ended = true;
    this.failure ??= e;
    if (!this.pipe.destroyed) this.pipe.destroy(e);
  }

  /** The engine's error, carrying this side's code when the upload was stopped here (SHA-256, timeout, cancel). */
  explain(e: unknown): AbuError {
    const err = isAbuError(e) ? e : new AbuError('ABU_ERR_INTERNAL', e instanceof Error ? e.message : String(e));
    if (!this.failure || err.code === this.failure.code) return err;
    return new AbuError(this.failure.code, err.message, { cause: err, details: err.details });
  }

  cancel(): void {
    this.abort.abort(new AbuError('ABU_ERR_CANCELLED', 'upload cancelled from the serial console'));
    this.fail(new AbuError('ABU_ERR_CANCELLED', 'upload cancelled from the serial console; nothing was activated'));
  }
}

function decode(block: string | Buffer): DataBlock {
  return typeof block === 'string' ? decodeBlock(block) : decodeFrame(block);
}
