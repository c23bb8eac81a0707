// Whether QEMU can run here at all: system tests are pending (not failed) only when the binary is absent.
import { spawnSync } from 'node:child_process';

/** Null when qemu-system-x86_64 runs; otherwise the reason to show on the pending test. */
export function qemuAvailable(binary = 'qemu-system-x86_64'): string | null {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `${binary} is not installed (apt-get install qemu-system-x86)`;
  return null;
}
