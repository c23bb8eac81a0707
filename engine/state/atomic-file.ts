// Atomic file replacement: temp file, fsync, rename, fsync the directory (survives a power cut at any point).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AbuError } from '../core/errors';

/** The steps of a replacement, in order; a failure names the one that failed. */
export const ATOMIC_STEPS = ['open-temp', 'write-temp', 'fsync-temp', 'close-temp', 'rename', 'open-dir', 'fsync-dir', 'close-dir'] as const;
export type AtomicStep = (typeof ATOMIC_STEPS)[number];

/**
 * Called before each step; a throw stands for that step failing. The seam for faults a test cannot cause with a real
 * file system (EIO needs device-mapper, which not every test machine has); nothing in production passes one.
 */
export type StepHook = (step: AtomicStep, file: string) => void;

/**
 * Replace `file` with `data` so that a crash leaves either the old or the new content, never a mix. A failure is
 * ABU_ERR_STATE_WRITE naming the file, the step and the errno (disk full, read-only, I/O error) and leaves no temp
 * file behind; before the rename the old content is untouched, after it (the directory's fsync) the new content is
 * in place but may not survive a power cut.
 */
export async function writeFileAtomic(file: string, data: string | Buffer, mode = 0o644, hook?: StepHook): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  let step: AtomicStep = 'open-temp';
  const at = (s: AtomicStep) => {
    step = s;
    hook?.(s, file);
  };
  try {
    at('open-temp');
    const fh = await fs.open(tmp, 'w', mode);
    let synced = false;
    try {
      at('write-temp');
      await fh.writeFile(data);
      at('fsync-temp');
      await fh.sync();
      synced = true;
    } finally {
      // After a failed write the close only releases the descriptor; after a good fsync a failed close (NFS, some
      // FUSE file systems report write-back errors there) still fails the replacement.
      await closeAfter(synced, fh, () => at('close-temp'));
    }
    at('rename');
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw storageError(file, step, e, 'its previous content is kept');
  }
  await fsyncDir(dir, at).catch((e: unknown) => {
    throw storageError(file, step, e, 'the new content is in place but may not survive a power cut');
  });
}

/** Closes always; a close failure counts only after a good fsync (else the first failure is the one to report). */
async function closeAfter(synced: boolean, fh: fs.FileHandle, step: () => void): Promise<void> {
  if (!synced) return fh.close().catch(() => undefined);
  try {
    step();
  } finally {
    await fh.close();
  }
}

async function fsyncDir(dir: string, at: (s: AtomicStep) => void): Promise<void> {
  at('open-dir');
  const dh = await fs.open(dir, 'r');
  let synced = false;
  try {
    at('fsync-dir');
    await dh.sync();
    synced = true;
  } finally {
    await closeAfter(synced, dh, () => at('close-dir'));
  }
}

const HINTS: Record<string, string> = {
  ENOSPC: 'the file system is full: free space there',
  EDQUOT: 'the disk quota is used up: free space there',
  EROFS: 'the file system is read-only: remount it read-write',
  EIO: 'the storage reported an I/O error: check the disk',
  EACCES: 'permission denied: run abu as the owner of its state folder',
  EPERM: 'permission denied: run abu as the owner of its state folder',
};

/** True for storage that cannot take writes (full, read-only, failing): what ABU_ERR_STATE_WRITE explains. */
export function isStorageFailure(e: unknown): boolean {
  return ['ENOSPC', 'EDQUOT', 'EROFS', 'EIO'].includes((e as NodeJS.ErrnoException)?.code ?? '');
}

/** ABU_ERR_STATE_WRITE for `file`: the step, the errno, what to do about it, and what the file holds now. */
export function storageError(file: string, step: string, e: unknown, outcome: string): AbuError {
  const errno = (e as NodeJS.ErrnoException)?.code ?? 'unknown';
  const hint = HINTS[errno] ?? 'see the cause';
  return new AbuError('ABU_ERR_STATE_WRITE', `cannot save ${file} (${step}: ${errno}): ${hint}; ${outcome}`, { cause: e, details: { path: file, step, errno } });
}
