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
 * and is dropped; a frame longer than MAX_FRAME_BYTES is reported and the rest of it read as noise; its block is
 * NAKed by the gap. After a binary upload, frames are still split until the next text line, so frames the host
 * had on the wire when the upload ended get one answer each instead of one per line break inside them.
 */
export class ConsoleSplitter {
  private framesOn = false;
  private untilLine = false;
  private inFrame = false;
  private parts: Buffer[] = [];
  private length = 0;

  constructor(private readonly lines: LineSplitter, private readonly maxFrame = MAX_FRAME_BYTES) {}

  get holdsPartialLine(): boolean {
    return this.lines.holdsPartialLine || this.inFrame;
  }

  /** Turns frame splitting on (a binary upload began) or off at once. */
  set frames(on: boolean) {
    if (on && !this.framesOn) this.inFrame = false;
    this.framesOn = on;
    this.untilLine = false;
  }

  /**
   * The host went silent mid-frame (a pulled cable, a killed pusher): the rest of that frame never comes. Without
   * this, the next host's install line would be read as the frame's continuation, up to the next 0x00.
   */
  dropPartialFrame(): void {
    this.parts = [];
    this.length = 0;
    this.inFrame = false;
  }

  /** A binary upload ended: frames are split until the host sends a text line (its next command). */
  framesUntilNextLine(): void {
    if (this.framesOn) this.untilLine = true;
  }

  push(bytes: Buffer): ConsoleItem[] {
    const out: ConsoleItem[] = [];
    let start = 0;
    for (;;) {
      if (!this.framesOn && !this.inFrame) return out.concat(this.lines.push(bytes.subarray(start)));
      const i = bytes.indexOf(0, start);
      this.feed(bytes.subarray(start, i < 0 ? bytes.length : i), out);
      if (i < 0) return out;
      this.delimiter(out);
      start = i + 1;
    }
  }

  private feed(piece: Buffer, out: ConsoleItem[]): void {
    if (piece.length === 0) return;
    if (!this.inFrame) {
      const items = this.lines.push(piece);
      out.push(...items);
      if (this.untilLine && items.some((item) => 'line' in item)) this.frames = false;
      return;
    }
    if (this.length + piece.length > this.maxFrame) {
      out.push({ error: new AbuError('ABU_ERR_SERIAL_LINE_TOO_LONG', `frame longer than ${this.maxFrame} bytes discarded`) });
      this.parts = [];
      this.length = 0;
      this.inFrame = false;
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
    if (this.length === 0) return; // a doubled 0x00: the next frame starts here
    out.push({ frame: Buffer.concat(this.parts, this.length) });
    this.parts = [];
    this.length = 0;
    this.inFrame = false;
  }
}
