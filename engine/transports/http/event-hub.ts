// Fans engine progress and log events out to SSE clients, keeping a short numbered backlog for reconnects and late pages.
import { PROGRESS_SCHEMA, type EventSink, type LogEvent, type ProgressEvent } from '../../core/progress';
import type { Engine } from '../../facade';

export type HubEvent =
  | { id: number; type: 'progress'; data: ProgressEvent }
  | { id: number; type: 'log'; data: LogEvent }
  | { id: number; type: 'queue'; data: { schema: typeof PROGRESS_SCHEMA; time: string } };

export type HubListener = (e: HubEvent) => void;

const BACKLOG = 300;

export class EventHub implements EventSink {
  private nextId = 1;
  private readonly backlog: HubEvent[] = [];
  private readonly listeners = new Set<HubListener>();
  private readonly unsubscribe: () => void;

  constructor(engine: Engine) {
    this.unsubscribe = engine.subscribe(this);
  }

  progress(e: ProgressEvent): void {
    this.publish({ id: this.nextId++, type: 'progress', data: e });
  }

  log(e: LogEvent): void {
    this.publish({ id: this.nextId++, type: 'log', data: e });
  }

  /** Daemon-side messages (queue steps, HTTP-level failures) go to the same log the page shows. */
  info(message: string, level: LogEvent['level'] = 'info', code?: string): void {
    this.log({ schema: PROGRESS_SCHEMA, level, message, code, time: new Date().toISOString() });
  }

  /** Tells pages the queue changed so they reload it. */
  queueChanged(): void {
    this.publish({ id: this.nextId++, type: 'queue', data: { schema: PROGRESS_SCHEMA, time: new Date().toISOString() } });
  }

  /** Events after `lastId` still in the backlog (all of them when lastId is 0). */
  since(lastId: number): HubEvent[] {
    return this.backlog.filter((e) => e.id > lastId);
  }

  listen(fn: HubListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
  }

  private publish(e: HubEvent): void {
    const last = this.backlog[this.backlog.length - 1];
    // Keep one progress event per run and phase in the backlog, so log lines are not pushed out by progress ticks.
    if (e.type === 'progress' && last?.type === 'progress' && last.data.op === e.data.op && last.data.phase === e.data.phase) this.backlog.pop();
    this.backlog.push(e);
    if (this.backlog.length > BACKLOG) this.backlog.shift();
    for (const fn of this.listeners) fn(e);
  }
}
