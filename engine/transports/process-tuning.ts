// V8 settings for abu's own processes (the CLI and the daemon): a small, flat footprint over peak JavaScript speed.
import { setFlagsFromString } from 'node:v8';

/**
 * Applied once at process start by bin/abu, before anything else is loaded. The bytes of an install go
 * through native code (SHA-256, CRC32, O_DIRECT I/O); the JavaScript around them is glue, so:
 * - the young generation stays at its initial size (no growth to 16 MiB semi-spaces): the 64 KiB socket
 *   buffers of an HTTP install are then freed by frequent, cheap scavenges instead of piling up as garbage
 *   (the daemon peaked 10-25 MiB higher without it);
 * - no optimising compiler (TurboFan): its code and zones cost 3-4 MiB and a 1-second CLI never gains from it;
 * - the backing stores of dead ArrayBuffers are freed during the collection that finds them, not later by a
 *   background task: on a loaded 2-core machine that task waited while the socket kept delivering, and the
 *   daemon's live-plus-unfreed socket buffers reached 14-20 MiB instead of 6-8 (peak RSS 4-10 MiB higher).
 *   Each paced scavenge then frees ~4 MiB of buffers itself: tens of microseconds.
 * All are V8 flags read at run time; an unknown flag in another V8 is reported on stderr and ignored.
 */
export function tuneForSmallFootprint(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--no-opt');
  setFlagsFromString('--no-concurrent-array-buffer-sweeping');
}
