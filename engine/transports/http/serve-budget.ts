// One byte budget shared by every replica this daemon serves at once, so its memory does not grow with the pullers.

/** Bytes all replica fetches may hold queued on their sockets together. */
export const SERVE_BUDGET_BYTES = 24 * 1024 * 1024;
/** A fetch always may queue this much, so each one moves on, however many there are. */
export const MIN_SHARE_BYTES = 256 * 1024;

/**
 * Splits SERVE_BUDGET_BYTES evenly among the fetches being served. Alone, a fetch queues up to its own cap (reading
 * the next piece overlaps sending this one); with 60 DC primaries pulling from one coordinator, each gets a 1/60 share
 * instead of 60 times the cap (the coordinator's peak RSS grew with the member count before).
 */
export class ServeBudget {
  private active = 0;

  constructor(private readonly total = SERVE_BUDGET_BYTES, private readonly floor = MIN_SHARE_BYTES) {}

  /** Counts a fetch in until the returned function is called. */
  enter(): () => void {
    this.active++;
    let left = false;
    return () => {
      if (!left) this.active--;
      left = true;
    };
  }

  /** The share of one fetch now, at most `cap`. */
  share(cap: number): number {
    return Math.min(cap, Math.max(this.floor, Math.floor(this.total / Math.max(1, this.active))));
  }

  get fetches(): number {
    return this.active;
  }
}
