// Keeps the resume checkpoint of one install run: chunks become durable at the next datasync, saved every few seconds.
import type { ImageEntry } from '../bundle/manifest';
import type { SlotHandle } from '../slots/slot-store';
import { CHECKPOINT_SCHEMA, runsOf, type CheckpointFile, type InstallCheckpoint } from './checkpoint';

export interface RecordedImage {
  entry: ImageEntry;
  handle: SlotHandle;
}

/**
 * Chunks go through three states: written (verifyAndWrite checked the signed CRC32 and SHA-256, then wrote
 * them), then durable once a datasync that started after their write settled has returned, then saved. A save
 * runs at most every `intervalMs` (the checkpoint is never more than that plus one sync behind) and never two at
 * once; a failed save (state folder full) only stops checkpointing: the install itself goes on.
 */
export class CheckpointRecorder {
  private readonly durable: boolean[][];
  private readonly written: Set<number>[];
  private saving: Promise<void> | null = null;
  private lastSave = Date.now();
  private failed = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly file: CheckpointFile,
    private readonly base: Pick<InstallCheckpoint, 'manifestSha256' | 'slot' | 'version'>,
    private readonly images: RecordedImage[],
    private readonly intervalMs: number,
    private readonly warn: (message: string) => void,
  ) {
    this.durable = images.map((i) => new Array<boolean>(i.entry.chunkCrc32.length).fill(false));
    this.written = images.map(() => new Set<number>());
  }

  /** Chunks already on the medium and checked there in this run (kept, or re-read from an earlier checkpoint). */
  markHeld(k: number, held: readonly boolean[]): void {
    held.forEach((h, i) => {
      if (h) this.durable[k][i] = true;
    });
  }

  /** The handle of image k, recording every chunk it verifies and writes. */
  wrap(k: number): SlotHandle {
    const inner = this.images[k].handle;
    const chunkSize = this.images[k].entry.chunkSize;
    return {
      get target() { return inner.target; },
      get direct() { return inner.direct; },
      get directFallbackReason() { return inner.directFallbackReason; },
      verifyAndWrite: async (buf, offset, crc32, sha256) => {
        await inner.verifyAndWrite(buf, offset, crc32, sha256);
        if (offset % chunkSize === 0) this.written[k].add(offset / chunkSize);
        this.saveWhenDue();
      },
      write: (buf, offset) => inner.write(buf, offset),
      read: (buf, offset) => inner.read(buf, offset),
      readVerify: (buf, offset, crc32, sha256) => inner.readVerify(buf, offset, crc32, sha256),
      datasync: () => inner.datasync(),
      dropCache: () => inner.dropCache(),
      close: () => inner.close(),
    };
  }

  /** Syncs and saves now (after a failure, so a resume loses nothing that reached the medium); waits for a save in flight. */
  async saveNow(): Promise<void> {
    this.cancelTimer();
    await this.saving;
    if (!this.failed) await this.save();
  }

  /** No save is in flight or scheduled when this settles (before the handles close). */
  async idle(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    await this.saving;
  }

  /**
   * A save when the interval since the last one has passed, else one scheduled for then: a source that stalls
   * (a dropped link, a pipe that stops) still gets its written chunks saved within the interval.
   */
  private saveWhenDue(): void {
    if (this.saving || this.timer || this.failed || this.stopped) return;
    const wait = this.intervalMs - (Date.now() - this.lastSave);
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.saveWhenDue();
      }, wait);
      this.timer.unref();
      return;
    }
    this.saving = this.save().finally(() => {
      this.saving = null;
      if (this.written.some((s) => s.size > 0)) this.saveWhenDue();
    });
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The writes that had settled when this began are covered by the datasync that follows (it waits for them). */
  private async save(): Promise<void> {
    this.lastSave = Date.now();
    const settled = this.written.map((s) => [...s]);
    try {
      for (let k = 0; k < this.images.length; k++) if (settled[k].length > 0) await this.images[k].handle.datasync();
      settled.forEach((list, k) => list.forEach((i) => {
        this.durable[k][i] = true;
        this.written[k].delete(i);
      }));
      await this.file.save(this.snapshot());
    } catch (e) {
      this.failed = true;
      this.warn(`resume checkpoint not saved (${(e as Error).message}); the install goes on, but an interrupted one would start again from the slot's contents`);
    }
  }

  private snapshot(): InstallCheckpoint {
    return {
      schema: CHECKPOINT_SCHEMA,
      ...this.base,
      images: this.images.map(({ entry, handle }, k) => ({
        name: entry.name, device: handle.target.device, offset: handle.target.offset, chunkSize: entry.chunkSize, chunks: entry.chunkCrc32.length, done: runsOf(this.durable[k]),
      })),
      savedAt: new Date().toISOString(),
    };
  }
}
