// The daemon's upload and download limit admits a zstd bundle of an incompressible image that fills its slot.
import assert from 'node:assert/strict';
import { zstdCompressBound } from '../../../../engine/bundle/chunk-layout';
import type { AbuEngine } from '../../../../engine/engine';
import { alternateCapacity } from '../../../../engine/transports/http/daemon';

const MIB = 1024 * 1024;

/**
 * Only what alternateCapacity reads (status().alternate, the slot store's classes and sizes): a fake, because the
 * property needs slots of gigabytes, which a simulated appliance would have to allocate on disk.
 */
function engineWithSlots(sizes: Record<string, number>): AbuEngine {
  return {
    status: async () => ({ alternate: 'B' }),
    parts: { slots: { classes: () => Object.keys(sizes), resolve: async (_slot: string, cls: string) => ({ size: sizes[cls] }) } },
  } as unknown as AbuEngine;
}

describe('HTTP upload limit', () => {
  it('is at least the largest valid bundle: every image filling its slot, stored at the zstd bound of 64 KiB chunks', async () => {
    const cases: Record<string, number>[] = [{ rootfs: 4 * MIB }, { rootfs: 1024 * MIB }, { rootfs: 4096 * MIB, boot: 64 * MIB }];
    for (const sizes of cases) {
      const worstImages = Object.values(sizes).reduce((n, size) => n + Math.ceil(size / (64 * 1024)) * zstdCompressBound(64 * 1024), 0);
      const head = 64 * 1024 + 1024 * 1024 + 4096 * (Object.keys(sizes).length + 1); // signatures, manifest, alignment
      assert.ok(await alternateCapacity(engineWithSlots(sizes)) >= worstImages + head, JSON.stringify(sizes));
    }
  });
});
