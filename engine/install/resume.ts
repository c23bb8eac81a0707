// Resuming an interrupted install from its checkpoint: the same bundle's chunks that re-read with their signed CRC32.
import { withContext } from '../core/errors';
import type { ImageEntry } from '../bundle/manifest';
import type { SlotHandle } from '../slots/slot-store';
import { chunkLength } from './adaptive-plan';
import type { BufferPool } from './buffer-pool';
import { flagsOf, type CheckpointFile, type InstallCheckpoint } from './checkpoint';
import { CheckpointRecorder } from './checkpoint-recorder';
import type { InstallPlan } from './plan';
import { eachWithBuffer } from './slot-scan';

/**
 * Per planned image, the chunks the saved checkpoint lists for this very bundle and target (candidates, not yet
 * trusted); null when there is no checkpoint. A checkpoint of another bundle, slot, device or geometry is deleted:
 * whatever this install writes makes it wrong.
 */
export async function checkpointCandidates(file: CheckpointFile, plan: InstallPlan, manifestSha256: string, log: (m: string) => void): Promise<boolean[][] | null> {
  const cp = await file.load();
  if (!cp) return null;
  if (!matches(cp, plan, manifestSha256)) {
    log(`discarding the resume checkpoint of another install (bundle manifest ${cp.manifestSha256.slice(0, 12)}, slot ${cp.slot})`);
    await file.clear();
    return null;
  }
  return cp.images.map((image) => flagsOf(image.done, image.chunks));
}

function matches(cp: InstallCheckpoint, plan: InstallPlan, manifestSha256: string): boolean {
  if (cp.manifestSha256 !== manifestSha256 || cp.slot !== plan.targetSlot || cp.images.length !== plan.images.length) return false;
  return plan.images.every(({ entry, target }, k) => {
    const c = cp.images[k];
    return c.name === entry.name && c.device === target.device && c.offset === target.offset && c.chunkSize === entry.chunkSize && c.chunks === entry.chunkCrc32.length;
  });
}

/**
 * The candidates that still hold their chunk on the medium: each is read again (O_DIRECT when the target has it)
 * and must match the signed CRC32. They were checked by SHA-256 before they were written and synced before the
 * checkpoint named them, so the re-read catches what a medium or a later writer changed, as the read-back does.
 */
export async function recheckCandidates(entry: ImageEntry, target: SlotHandle, candidates: readonly boolean[], pool: BufferPool, signal?: AbortSignal): Promise<boolean[]> {
  const list = candidates.flatMap((c, i) => (c ? [i] : []));
  const held = new Array<boolean>(candidates.length).fill(false);
  await eachWithBuffer(list.length, Math.max(1, pool.count - 1), pool, signal, async (n, buf) => {
    const i = list[n];
    const view = buf.subarray(0, chunkLength(entry, i));
    const r = await target.readVerify(view, i * entry.chunkSize, entry.chunkCrc32[i], null).catch((e) => Promise.reject(withContext(`reading slot ${target.target.slot} (${target.target.device}) at ${i * entry.chunkSize}`, e, 'ABU_ERR_IO')));
    held[i] = r.bytes === view.length && r.crc32 >>> 0 === entry.chunkCrc32[i] >>> 0;
  });
  return held;
}

/** What the installer needs of the checkpoint across one run: candidates before, recorded handles during, cleanup after. */
export class InstallResume {
  private constructor(
    private readonly file: CheckpointFile,
    private readonly candidates: boolean[][] | null,
    readonly recorder: CheckpointRecorder,
    /** The targets, recording each chunk they write into the checkpoint. */
    readonly handles: SlotHandle[],
  ) {}

  /** Before the first write: the saved checkpoint's candidates (or discarding another bundle's), and the recorder of this run. */
  static async start(file: CheckpointFile, plan: InstallPlan, manifestSha256: string, handles: SlotHandle[], intervalMs: number, log: (level: 'info' | 'warn', m: string) => void): Promise<InstallResume> {
    const candidates = await checkpointCandidates(file, plan, manifestSha256, (m) => log('info', m));
    const images = plan.images.map((p, k) => ({ entry: p.entry, handle: handles[k] }));
    const recorder = new CheckpointRecorder(file, { manifestSha256, slot: plan.targetSlot, version: plan.version }, images, intervalMs, (m) => log('warn', m));
    return new InstallResume(file, candidates, recorder, handles.map((_, k) => recorder.wrap(k)));
  }

  /** Per image, the chunks the target still holds from the interrupted install (all false without a checkpoint). */
  async held(plan: InstallPlan, pool: BufferPool, signal: AbortSignal | undefined, log: (m: string) => void): Promise<boolean[][]> {
    const held: boolean[][] = [];
    for (const [k, { entry }] of plan.images.entries()) {
      const candidates = this.candidates?.[k] ?? [];
      held.push(candidates.some(Boolean) ? await recheckCandidates(entry, this.handles[k], candidates, pool, signal) : new Array<boolean>(entry.chunkCrc32.length).fill(false));
      this.recorder.markHeld(k, held[k]);
      const listed = candidates.filter(Boolean).length;
      const kept = held[k].filter(Boolean).length;
      if (listed > 0) log(`image "${entry.name}": resuming from the checkpoint: ${kept} of ${listed} checkpointed chunks (of ${held[k].length}) read back with their signed CRC32${kept < listed ? `; ${listed - kept} did not and are written again` : ''}`);
    }
    return held;
  }

  /** After a failed run: the checkpoint keeps what reached the medium, except after a read-back mismatch (the medium is suspect). */
  async failed(e: unknown): Promise<void> {
    if ((e as { code?: string })?.code === 'ABU_ERR_READBACK') {
      await this.recorder.idle(); // a save still in flight must not write the file again after it is deleted
      return this.file.clear().catch(() => undefined);
    }
    await this.recorder.saveNow().catch(() => undefined);
  }

  /** The release is recorded verified: nothing is left to resume. */
  async finished(): Promise<void> {
    await this.recorder.idle();
    await this.file.clear();
  }
}
