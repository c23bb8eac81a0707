// While the daemon streams a bundle, frees the network's spent buffers promptly with a minor GC every few ms.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Why: every 64 KiB the socket delivers is a new Buffer, copied into the installer's chunk buffers and then
 * garbage. V8 frees such buffers only when it collects the young generation, which a stream of them barely
 * fills (a few hundred bytes of heap per 64 KiB outside it), so 20-40 MiB of spent buffers piled up before a
 * collection: the daemon peaked at 115-125 MiB during an HTTP install. A young-generation collection of a
 * small new space takes ~40-100 us: every 5 ms costs 1-2 % of a core, and brought the peak to 89-103 MiB
 * (every 20 ms: 98-113 MiB) on this loaded 2-core machine.
 */
const INTERVAL_MS = 5;

type MinorGc = () => void;
let minorGc: MinorGc | null | undefined;

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

/** Runs `fn` with minor collections every INTERVAL_MS until it settles. */
export async function withScavenging<T>(fn: () => Promise<T>): Promise<T> {
  const gc = collector();
  const timer = gc ? setInterval(gc, INTERVAL_MS) : null;
  timer?.unref();
  try {
    return await fn();
  } finally {
    if (timer) clearInterval(timer);
  }
}
