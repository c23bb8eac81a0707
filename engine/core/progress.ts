// Progress and log events: one versioned schema shared by the CLI bar, SSE stream and serial console.

/** Bump only with a compatible addition; SSE clients read `schema`. */
export const PROGRESS_SCHEMA = 1;

export type Phase =
  | 'idle'
  | 'receiving'     // reading header, manifest and signatures
  | 'verifying'     // signature, compatibility and version policy
  | 'indexing'      // adaptive install: hashing what the target and the booted slot already hold
  | 'writing'       // streaming chunks into the target slot
  | 'readback'      // reading the slot back and checking the whole-image digest
  | 'activating'    // setting the boot flags (try-once)
  | 'done'
  | 'failed'
  | 'cancelled';

export interface ProgressEvent {
  schema: typeof PROGRESS_SCHEMA;
  /** Operation id, so a client can tell runs apart. */
  op: string;
  phase: Phase;
  /** Image being written (when writing/readback). */
  image?: string;
  bytesDone: number;
  bytesTotal: number;
  /** Bytes per second over the last few seconds. */
  rate: number;
  /** Seconds left at the current rate, when known. */
  etaSeconds?: number;
  /** Adaptive installs: image bytes fetched from the bundle, copied from the booted slot, skipped (already in the target). */
  transfer?: TransferCounts;
  time: string;
}

export interface TransferCounts {
  fetched: number;
  copied: number;
  skipped: number;
}

export type LogLevel = 'info' | 'warn' | 'error';

export interface LogEvent {
  schema: typeof PROGRESS_SCHEMA;
  op?: string;
  level: LogLevel;
  message: string;
  /** Stable error code when level is error. */
  code?: string;
  time: string;
}

/** Receives progress and log events; transports fan them out. */
export interface EventSink {
  progress(e: ProgressEvent): void;
  log(e: LogEvent): void;
}
