// Phase timestamps of one install (ABU_BENCH_ADAPTIVE_TRACE=1): when each progress phase first shows, in ms since the start.
import type { AbuEngine } from '../engine/engine';
import type { Phase } from '../engine/core/progress';

export interface PhaseTrace {
  /** "indexing 3 | writing 290 | readback 331 | done 340": first event of each phase, ms after start(). */
  line(): string;
  stop(): void;
}

/** Subscribes to the engine's progress events until stop(); phases in the order they first appear. */
export function tracePhases(engine: AbuEngine): PhaseTrace {
  const t0 = process.hrtime.bigint();
  const first = new Map<Phase, number>();
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  const unsubscribe = engine.subscribe({
    progress: (e) => void (first.has(e.phase) || first.set(e.phase, ms())),
    log: () => undefined,
  });
  return {
    line: () => [...first, ['end' as Phase, ms()] as const].map(([p, t]) => `${p} ${t.toFixed(0)}`).join(' | '),
    stop: unsubscribe,
  };
}
