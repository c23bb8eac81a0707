// Shared fixtures for the native tests: temp dirs, root/loop-device detection, model-based file checks.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/** A fresh directory under `base` (default the OS temp dir, ext4 here: O_DIRECT works there). */
export function makeTempDir(base = tmpdir()): string {
  return mkdtempSync(path.join(base, 'abu-native-'));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Why loop devices cannot be used here, or undefined when they can (root and losetup present). */
export function loopUnavailableReason(): string | undefined {
  if (!isRoot()) return 'needs root for losetup';
  const probe = spawnSync('losetup', ['-f'], { encoding: 'utf8' });
  if (probe.status !== 0) return `losetup -f failed: ${(probe.stderr || String(probe.error)).trim()}`;
  return undefined;
}

/** Attaches `file` to a free loop device and returns its path; detach with detachLoop(). */
export function attachLoop(file: string, sectorSize = 512): string {
  return execFileSync('losetup', ['-f', '--show', '-b', String(sectorSize), file], { encoding: 'utf8' }).trim();
}

export function detachLoop(dev: string | undefined): void {
  if (dev) spawnSync('losetup', ['-d', dev]);
}

/** Mounts a ramfs (a filesystem that refuses O_DIRECT) at a new temp dir; undefined if that is not possible. */
export function mountRamfs(): string | undefined {
  if (!isRoot()) return undefined;
  const dir = makeTempDir();
  if (spawnSync('mount', ['-t', 'ramfs', 'none', dir]).status === 0) return dir;
  removeDir(dir);
  return undefined;
}

export function unmountRamfs(dir: string | undefined): void {
  if (!dir) return;
  spawnSync('umount', [dir]);
  removeDir(dir);
}

/** Integers in [lo, hi]. */
export function randomInt(lo: number, hi: number): number {
  return lo + Math.floor(Math.random() * (hi - lo + 1));
}

/** A view of `len` bytes of `data` placed `shift` bytes into a fresh allocation (misaligned on purpose). */
export function misaligned(data: Buffer, shift: number): Buffer {
  const holder = Buffer.alloc(data.length + shift);
  data.copy(holder, shift);
  return holder.subarray(shift);
}
