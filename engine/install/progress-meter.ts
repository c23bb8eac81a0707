// Turns byte counts into progress events with a smoothed rate and ETA, throttled for the UI.
import { PROGRESS_SCHEMA, type EventSink, type Phase, type TransferCounts } from '../core/progress';

export class ProgressMeter {
  private done = 0;
  private lastEmit = 0;
  private window: { t: number; bytes: number }[] = [];
  private counts: TransferCounts | undefined;
  private total: number;

  constructor(private readonly sink: EventSink, private readonly op: string, private readonly planTotal: number) {
    this.total = planTotal;
  }

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

  /** Starts counting again from `done` towards `total` (the plan's bytes by default; a partial read-back counts its own). */
  reset(total = this.planTotal, done = 0): void {
    this.total = total;
    this.done = done;
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
