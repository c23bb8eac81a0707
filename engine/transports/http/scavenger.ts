// While the daemon streams a bundle, frees the network's spent buffers with a minor GC every few MiB received.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Why: every piece the socket delivers (up to 64 KiB) is a new Buffer, copied into the installer's chunk
 * buffers and then garbage. V8 frees such buffers only when it collects the young generation, which a stream
 * of them barely fills (a few hundred bytes of heap per 64 KiB outside it), so 20-40 MiB of spent buffers
 * piled up before a collection. A timer (every 5 ms, the previous pacing) bounded that by time, not by bytes:
 * on a loaded machine the timer ran late while a burst of socket reads arrived, and the peak still rose with
 * load (89-109 MiB). Counting the bytes the sources receive bounds the garbage by count: at most
 * SCAVENGE_BYTES of spent buffers whatever the load or the link speed. A young-generation collection of a
 * small new space takes ~40-100 us: every 4 MiB that is ~1-2 % of the time a 1 GiB install's bytes take to
 * arrive at 300 MiB/s, and nothing while no byte arrives. The sources' read-ahead (1 MiB) stays below it: a
 * piece still buffered at one collection is gone by the next, so it is never promoted to the old generation.
 */
export const SCAVENGE_BYTES = 4 * 1024 * 1024;

type MinorGc = () => void;
let minorGc: MinorGc | null | undefined;
/** Operations running with scavenging (the daemon runs one, tests may nest) and bytes received since the last collection. */
let active = 0;
let sinceLast = 0;

/** V8's gc(), exposed once for this process; null where this V8 refuses (then nothing is paced). */
function collector(): MinorGc | null {
  if (minorGc !== undefined) return minorGc;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (o: { type: 'minor' }) => void;
    minorGc = () => gc({ type: 'minor' });
  } catch {
    minorGc = null;
  }
  return minorGc;
}

/**
 * Counts bytes a source took from the network (sources call it through OpenOptions.onReceived); once
 * SCAVENGE_BYTES have arrived since the last collection, collects the young generation. Outside
 * withScavenging it only returns: a CLI process never paces.
 */
export function scavengeReceived(bytes: number): void {
  if (active === 0) return;
  sinceLast += bytes;
  if (sinceLast < SCAVENGE_BYTES) return;
  sinceLast %= SCAVENGE_BYTES;
  collector()?.();
}

/** Runs `fn` with byte-paced minor collections (scavengeReceived) until it settles. */
export async function withScavenging<T>(fn: () => Promise<T>): Promise<T> {
  collector();
  active++;
  try {
    return await fn();
  } finally {
    if (--active === 0) sinceLast = 0;
  }
}
