// One operation at a time, as seen from the daemon: refuses early (before reading an upload) and lets Cancel abort the run.
import { AbuError } from '../../core/errors';
import type { Engine } from '../../facade';
import type { ImageSource } from '../../sources/image-source';
import { busyError } from '../../state/appliance-lock';
import { scavengeReceived, withScavenging } from './scavenger';

interface Running {
  name: string;
  controller: AbortController;
  startedAt: string;
}

export class OperationRunner {
  private running: Running | null = null;

  constructor(private readonly engine: Engine) {}

  /** The daemon's own run or, failing that, whatever the engine reports (e.g. an install started by the CLI). */
  async current(): Promise<string | null> {
    return this.running?.name ?? (await this.engine.status()).operation;
  }

  /**
   * Throws ABU_ERR_BUSY naming what runs and its PID; used before a request body is read. Another process's
   * operation (the CLI with --direct, the serial console) is refused exactly as the appliance lock would.
   */
  async assertIdle(): Promise<void> {
    if (this.running) throw busy(this.running.name);
    const status = await this.engine.status();
    if (status.lock) throw busyError(status.lock);
    if (status.operation) throw busy(status.operation);
  }

  /** Runs `fn` as the one operation; the engine also refuses concurrent calls, this adds cancel and early 409s. */
  async run<T>(name: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.running) throw busy(this.running.name);
    const running: Running = { name, controller: new AbortController(), startedAt: new Date().toISOString() };
    this.running = running;
    try {
      // An install streams the bundle through this process: spent network buffers are freed as it goes.
      return await withScavenging(() => fn(running.controller.signal));
    } finally {
      if (this.running === running) this.running = null;
    }
  }

  /** Aborts the running operation; the engine stops writing and activates nothing. */
  cancel(): string {
    if (!this.running) throw new AbuError('ABU_ERR_NOTHING_RUNNING', 'nothing to cancel: no operation started by this daemon is running');
    this.running.controller.abort(new AbuError('ABU_ERR_CANCELLED', `${this.running.name} was cancelled by the operator; nothing was activated`));
    return this.running.name;
  }
}

function busy(name: string): AbuError {
  return new AbuError('ABU_ERR_BUSY', `another operation is running in this daemon (pid ${process.pid}): ${name}. Wait for it to finish or cancel it`, {
    details: { running: name, pid: process.pid },
  });
}

/**
 * The engine checks the signal between chunks; a source that has stalled (a paused upload, a silent server)
 * would never reach that check, so Cancel also reaches the source: a cancel before open stops it from
 * opening, the source gets the signal for its own waits (connecting, between retries), and the opened
 * stream is broken with the cancel reason. The reason is an AbuError ABU_ERR_CANCELLED, whose code the
 * bundle reader keeps, so the client and the recorded last error both say CANCELLED.
 */
export function cancellable(source: ImageSource, signal: AbortSignal): ImageSource {
  return {
    description: source.description,
    get sizeHint() {
      return source.sizeHint;
    },
    open: async (_signal, options) => {
      signal.throwIfAborted();
      // The bytes the source receives pace the collection of its spent socket buffers (scavenger.ts).
      const stream = await source.open(signal, { ...options, onReceived: scavengeReceived });
      const stop = () => stream.destroy(signal.reason as Error);
      if (signal.aborted) stop();
      else {
        signal.addEventListener('abort', stop, { once: true });
        stream.once('close', () => signal.removeEventListener('abort', stop));
      }
      return stream;
    },
  };
}
