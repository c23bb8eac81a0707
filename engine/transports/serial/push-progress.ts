// The host's one status line during `abu console push`: bytes sent, then what the device is doing, redrawn in place.

export interface PushProgressEvent {
  /** Bytes acknowledged so far; -1 when the event only carries a device line. */
  sent: number;
  total: number;
  /** A `PROGRESS <phase> <done>/<total>` line from the device. */
  deviceLine?: string;
}

const DEVICE_PROGRESS = /^PROGRESS (\S+) (\d+)\/(\d+)$/;

/**
 * Turns push events into one line redrawn with CR, so the device's protocol lines never interleave with it:
 * `sent 2.0 MiB of 6.0 MiB (33%); device writing 25%`. Only a changed line is written; end() closes it.
 */
export class PushProgressLine {
  private sent = 0;
  private total = 0;
  private device = '';
  private shown = '';

  constructor(private readonly out: { write(text: string): unknown }, private readonly bytes: (n: number) => string) {}

  update(e: PushProgressEvent): void {
    if (e.sent >= 0 && e.total > 0) {
      this.sent = e.sent;
      this.total = e.total;
    }
    const m = e.deviceLine === undefined ? null : DEVICE_PROGRESS.exec(e.deviceLine);
    if (m) this.device = `device ${m[1]} ${percent(Number(m[2]), Number(m[3]))}%`;
    this.draw();
  }

  /** Ends the status line (a newline), if one was drawn. */
  end(): void {
    if (this.shown !== '') this.out.write('\n');
    this.shown = '';
  }

  private draw(): void {
    if (this.total <= 0) return;
    const text = [`sent ${this.bytes(this.sent)} of ${this.bytes(this.total)} (${percent(this.sent, this.total)}%)`, this.device].filter((t) => t !== '').join('; ');
    if (text === this.shown) return;
    // Spaces wipe what a longer previous line left on the terminal.
    this.out.write(`\r${text}${' '.repeat(Math.max(0, this.shown.length - text.length))}`);
    this.shown = text;
  }
}

function percent(done: number, total: number): number {
  return total > 0 ? Math.floor((done * 100) / total) : 0;
}
