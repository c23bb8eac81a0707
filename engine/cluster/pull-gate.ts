// A FIFO gate on the pulls the coordinator drives at once: its memory and polling stay bounded at any member count.

/**
 * At most `limit` holders at a time, admitted in the order they asked. The replicator queues sources before the
 * members that fetch from them, so a member admitted later finds its source already receiving (or done).
 */
export class PullGate {
  private held = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /** Waits for a place; the returned function gives it back (once). */
  async enter(signal?: AbortSignal): Promise<() => void> {
    if (this.held < this.limit && this.waiting.length === 0) this.held++;
    else await this.queue(signal);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      if (next) next(); // the place passes straight to the next in line
      else this.held--;
    };
  }

  get holders(): number {
    return this.held;
  }

  private queue(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const admit = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(admit);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(admit);
    });
  }
}
