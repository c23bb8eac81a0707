// The scavenger: while a daemon operation runs, one minor GC per SCAVENGE_BYTES received, none while no byte arrives.
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SCAVENGE_BYTES, scavengeReceived, withScavenging } from '../../../../engine/transports/http/scavenger';

/** Minor GCs that happen while `fn` runs, seen through the GC performance entries. */
export async function minorGcsDuring(fn: () => Promise<void>): Promise<number> {
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

describe('scavenger: minor GCs paced by the bytes received', () => {
  // Nothing here allocates enough to make V8 collect on its own: the minor GCs seen are the paced ones.
  it('collects once per SCAVENGE_BYTES received during the operation, and returns its result', async () => {
    let result = '';
    const gcs = await minorGcsDuring(async () => {
      result = await withScavenging(async () => {
        for (let i = 0; i < 8 * 16; i++) scavengeReceived(SCAVENGE_BYTES / 16); // 8 x SCAVENGE_BYTES in socket-sized pieces
        return 'done';
      });
    });
    assert.equal(result, 'done');
    assert.ok(gcs >= 8 && gcs <= 10, `${gcs} minor GCs for 8 x SCAVENGE_BYTES`);
  });

  // The timer this replaces collected every 5 ms whether or not bytes arrived: ~60 GCs here.
  it('does not collect while the operation receives less than SCAVENGE_BYTES, however long it runs', async () => {
    const gcs = await minorGcsDuring(() => withScavenging(async () => {
      scavengeReceived(SCAVENGE_BYTES - 1);
      await sleep(300);
    }));
    assert.ok(gcs <= 1, `${gcs} minor GCs without SCAVENGE_BYTES received`);
  });

  it('paces nothing outside an operation (a CLI process), also after one failed', async () => {
    await assert.rejects(withScavenging(() => Promise.reject(new Error('install failed'))), /install failed/);
    const gcs = await minorGcsDuring(async () => {
      for (let i = 0; i < 8; i++) scavengeReceived(SCAVENGE_BYTES);
    });
    assert.ok(gcs <= 1, `${gcs} minor GCs outside an operation`);
  });
});
