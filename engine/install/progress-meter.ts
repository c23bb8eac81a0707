// Turns byte counts into progress events with a smoothed rate and ETA, throttled for the UI.
import { PROGRESS_SCHEMA, type EventSink, type Phase, type TransferCounts } from '../core/progress';

export class ProgressMeter {
  private done = 0;
  private lastEmit = 0;
  private window: { t: number; bytes: number }[] = [];
  private counts: TransferCounts | undefined;

  constructor(private readonly sink: EventSink, private readonly op: string, private readonly total: number) {}

  phase(phase: Phase, image?: string): void {
    this.emit(phase, image, true);
  }

  add(bytes: number, phase: Phase, image?: string): void {
    this.done += bytes;
    this.emit(phase, image, false);
  }

  /** Adaptive installs: these live counts go with every later event. */
  transfer(counts: TransferCounts): void {
    this.counts = counts;
  }

  reset(): void {
    this.done = 0;
    this.window = [];
  }

  private emit(phase: Phase, image: string | undefined, force: boolean): void {
    const now = Date.now();
    this.window.push({ t: now, bytes: this.done });
    while (this.window.length > 2 && now - this.window[0].t > 3000) this.window.shift();
    if (!force && now - this.lastEmit < 200 && this.done < this.total) return;
    this.lastEmit = now;
    const first = this.window[0];
    const rate = now > first.t ? ((this.done - first.bytes) * 1000) / (now - first.t) : 0;
    const left = this.total - this.done;
    this.sink.progress({
      schema: PROGRESS_SCHEMA,
      op: this.op,
      phase,
      image,
      bytesDone: this.done,
      bytesTotal: this.total,
      rate: Math.round(rate),
      etaSeconds: rate > 0 && left > 0 ? Math.ceil(left / rate) : undefined,
      ...(this.counts ? { transfer: { ...this.counts } } : {}),
      time: new Date(now).toISOString(),
    });
  }
}
