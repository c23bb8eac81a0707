// The recorded I/O of one engine operation: writes (in sector or chunk units), flushes and state-file renames.
import { createHash } from 'node:crypto';

/** Where a write went: a slot device, a boot-flag store, or abu's state folder. */
export type WriteSource = 'slot' | 'boot' | 'state';

export type LoggedOp =
  /** A positioned write of `bytes` (they differ from what was there before: unchanged units are not logged). */
  | { kind: 'write'; source: WriteSource; file: string; position: number; bytes: Buffer }
  /** fsync/fdatasync of `file`: every earlier write to that file is durable once it returns. */
  | { kind: 'flush'; file: string }
  /**
   * The rename of an atomic replace (engine/state/atomic-file.ts): the temp file was written and fsynced before it,
   * so the target holds either the old or all of `bytes`; durable once its folder (`file`'s dir) is flushed.
   */
  | { kind: 'rename'; file: string; dir: string; bytes: Buffer };

/** The ops of one recorded operation, in the order the engine issued them. */
export class WriteLog {
  readonly ops: LoggedOp[] = [];
  /** When true, slot flushes are dropped: the fault-injected variant of the self-test (an engine without fdatasync). */
  dropSlotFlush = false;

  write(source: WriteSource, file: string, position: number, bytes: Buffer): void {
    this.ops.push({ kind: 'write', source, file, position, bytes: Buffer.from(bytes) });
  }

  flush(file: string, source: WriteSource): void {
    if (source === 'slot' && this.dropSlotFlush) return;
    this.ops.push({ kind: 'flush', file });
  }

  rename(file: string, dir: string, bytes: Buffer): void {
    this.ops.push({ kind: 'rename', file, dir, bytes: Buffer.from(bytes) });
  }

  /** Start a new operation's recording. */
  clear(): void {
    this.ops.length = 0;
  }
}

/** The unit a crash keeps or loses: one logged write or rename; its key says which bytes it overrides. */
export function unitKey(op: LoggedOp): string {
  return op.kind === 'write' ? `${op.file}@${op.position}+${op.bytes.length}` : op.kind === 'rename' ? `${op.file}#rename` : '';
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
