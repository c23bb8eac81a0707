// withScavenging: while a daemon operation runs, young-generation collections free spent socket buffers.
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { withScavenging } from '../../../../engine/transports/http/scavenger';

/** Minor GCs that happen while `fn` runs, seen through the GC performance entries. */
async function minorGcsDuring(fn: () => Promise<void>): Promise<number> {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) count++;
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    await fn();
    await sleep(50); // entries are delivered asynchronously
  } finally {
    observer.disconnect();
  }
  return count;
}

describe('scavenger: minor GCs while an operation runs', () => {
  // An idle 500 ms allocates nothing, so V8 itself has no reason to collect: every minor GC seen is paced.
  it('collects the young generation repeatedly during the operation, and returns its result', async () => {
    let result = '';
    const gcs = await minorGcsDuring(async () => {
      result = await withScavenging(async () => {
        await sleep(500);
        return 'done';
      });
    });
    assert.equal(result, 'done');
    assert.ok(gcs >= 3, `only ${gcs} minor GCs in 500 ms`);
  });

  it('stops once the operation settles, also when it fails', async () => {
    await assert.rejects(withScavenging(() => Promise.reject(new Error('install failed'))), /install failed/);
    const gcs = await minorGcsDuring(() => sleep(300));
    assert.ok(gcs <= 1, `${gcs} minor GCs after the operation ended`);
  });
});
