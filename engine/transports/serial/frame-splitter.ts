// The device's input splitter: text lines always, and during a binary upload 0x00-delimited block frames as well.
import { AbuError } from '../../core/errors';
import { MAX_FRAME_BYTES } from './binary-frame';
import { LineSplitter, type LineItem } from './console-protocol';

export type ConsoleItem = LineItem | { frame: Buffer };

/**
 * With `frames` off this is the LineSplitter (a 0x00 is garbage in a text line). With it on, a 0x00 opens a frame
 * and the next 0x00 closes it; bytes outside frames are text lines (END, cancel). A doubled 0x00 (one frame's end,
 * the next one's start) opens the next frame, so a lost delimiter costs one frame and the stream falls back into
 * step at the next pair. A partial text line when a frame opens is noise (a frame that lost its opening 0x00)
 * and is dropped; a frame longer than MAX_FRAME_BYTES is dropped and reported, and its block is NAKed by the gap.
 */
export class ConsoleSplitter {
  private framesOn = false;
  private inFrame = false;
  private parts: Buffer[] = [];
  private length = 0;
  private overflowing = false;

  constructor(private readonly lines: LineSplitter, private readonly maxFrame = MAX_FRAME_BYTES) {}

  get holdsPartialLine(): boolean {
    return this.lines.holdsPartialLine || this.inFrame;
  }

  /** Turns frame splitting on (a binary upload began) or off (it ended; a frame already open is finished first). */
  set frames(on: boolean) {
    if (on && !this.framesOn) this.inFrame = false;
    this.framesOn = on;
  }

  push(bytes: Buffer): ConsoleItem[] {
    if (!this.framesOn && !this.inFrame) return this.lines.push(bytes);
    const out: ConsoleItem[] = [];
    let start = 0;
    for (let i = bytes.indexOf(0); i >= 0; i = bytes.indexOf(0, start)) {
      this.feed(bytes.subarray(start, i), out);
      this.delimiter(out);
      start = i + 1;
      if (!this.framesOn && !this.inFrame) return out.concat(this.lines.push(bytes.subarray(start)));
    }
    this.feed(bytes.subarray(start), out);
    return out;
  }

  private feed(piece: Buffer, out: ConsoleItem[]): void {
    if (piece.length === 0) return;
    if (!this.inFrame) {
      out.push(...this.lines.push(piece));
      return;
    }
    if (this.overflowing) return;
    if (this.length + piece.length > this.maxFrame) {
      this.overflowing = true;
      this.parts = [];
      this.length = 0;
      return;
    }
    this.parts.push(Buffer.from(piece)); // a copy: the port may reuse its read buffer
    this.length += piece.length;
  }

  private delimiter(out: ConsoleItem[]): void {
    if (!this.inFrame) {
      this.lines.reset();
      this.inFrame = true;
      return;
    }
    if (this.length === 0 && !this.overflowing) return; // a doubled 0x00: the next frame starts here
    if (this.overflowing) out.push({ error: new AbuError('ABU_ERR_SERIAL_LINE_TOO_LONG', `frame longer than ${this.maxFrame} bytes discarded`) });
    else out.push({ frame: Buffer.concat(this.parts, this.length) });
    this.parts = [];
    this.length = 0;
    this.overflowing = false;
    this.inFrame = false;
  }
}
