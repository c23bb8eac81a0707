// Paces a byte stream to an average rate, so replication does not fill the link between data centers.

export class RateLimit {
  private readonly started = Date.now();
  private total = 0;

  /** `bytesPerSecond` null: no cap. */
  constructor(private readonly bytesPerSecond: number | null) {}

  /** Largest piece worth sending at once: a tenth of a second's worth under a cap, so the pace stays smooth. */
  pieceBytes(max: number): number {
    return this.bytesPerSecond ? Math.max(4096, Math.min(max, Math.floor(this.bytesPerSecond / 10))) : max;
  }

  /** Resolves when `n` more bytes may go out without exceeding the average rate since the start. */
  async take(n: number): Promise<void> {
    this.total += n;
    if (!this.bytesPerSecond) return;
    const due = this.started + (this.total / this.bytesPerSecond) * 1000 - Date.now();
    if (due > 0) await new Promise((r) => setTimeout(r, due));
  }
}
