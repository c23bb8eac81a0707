// One read shared by every request that asks while it is pending, so a crowd of status polls costs one status read.

/**
 * Runs `read` for the first caller; callers arriving while it runs share the next run, which starts when it ends.
 * Each caller's answer is read wholly after it asked (never a result that started earlier, so a change the caller
 * made just before is seen), and at most one read runs and one waits, however many callers there are.
 */
export class SharedRead<T> {
  private running: Promise<T> | null = null;
  private next: Promise<T> | null = null;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.running) return this.start();
    if (!this.next) {
      this.next = this.running.then(() => undefined, () => undefined).then(() => {
        this.next = null;
        return this.start();
      });
    }
    return this.next;
  }

  private start(): Promise<T> {
    const p = this.read();
    this.running = p;
    const clear = () => {
      if (this.running === p) this.running = null;
    };
    p.then(clear, clear);
    return p;
  }
}
