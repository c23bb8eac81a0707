// Phase timestamps of one install (ABU_BENCH_ADAPTIVE_TRACE=1): when each progress phase first shows, in ms since the start.
import type { AbuEngine } from '../engine/engine';
import type { Phase } from '../engine/core/progress';

export interface PhaseTrace {
  /** "indexing 3 | writing 290 | readback 331 | end 340": first event of each phase, ms after start(); then each log line's time. */
  line(): string;
  stop(): void;
}

/** Subscribes to the engine's progress events until stop(); phases in the order they first appear. */
export function tracePhases(engine: AbuEngine): PhaseTrace {
  const t0 = process.hrtime.bigint();
  const first = new Map<Phase, number>();
  const logs: string[] = [];
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
  const unsubscribe = engine.subscribe({
    progress: (e) => void (first.has(e.phase) || first.set(e.phase, ms())),
    log: (e) => void logs.push(`\n    ${ms().toFixed(0)} ms: ${e.message.slice(0, 100)}`),
  });
  return {
    line: () => [...first, ['end' as Phase, ms()] as const].map(([p, t]) => `${p} ${t.toFixed(0)}`).join(' | ') + logs.join(''),
    stop: unsubscribe,
  };
}
