// The install plan refuses everything it can before a byte is written.
import assert from 'node:assert/strict';
import { isAbuError } from '../../../engine/core/errors';
import type { ImageEntry, Manifest } from '../../../engine/bundle/bundle-reader';
import { buildInstallPlan, type PlanContext } from '../../../engine/install/plan';

const image = (name: string, slotClass: string, size: number): ImageEntry => ({ name, slotClass, size, chunkSize: 65536, chunkCrc32: [], chunkSha256: [], sha256: Buffer.alloc(32), offset: 0, compression: 'none' });
const manifest = (images: ImageEntry[]): Manifest => ({ product: 'box', version: '1.1.0', description: '', buildTime: 0, source: { exact: '1.0.0' }, irreversible: false, images });
const ctx: PlanContext = {
  booted: 'A',
  targetSlot: 'B',
  targets: { rootfs: { slot: 'B', slotClass: 'rootfs', device: '/dev/b', offset: 0, size: 1000 }, appfs: { slot: 'B', slotClass: 'appfs', device: '/dev/b2', offset: 0, size: 500 } },
  policy: { product: 'box', installed: '1.0.0', floor: null, strictChain: true, allowDowngrade: false },
};

describe('install plan', () => {
  it('maps each image to its slot class target and sums the bytes', () => {
    const plan = buildInstallPlan(manifest([image('root', 'rootfs', 1000), image('app', 'appfs', 10)]), ctx);
    assert.deepEqual(plan.images.map((i) => i.target.device), ['/dev/b', '/dev/b2']);
    assert.equal(plan.totalBytes, 1010);
  });
  const refusals: [string, () => unknown, string][] = [
    ['the booted slot as target', () => buildInstallPlan(manifest([image('root', 'rootfs', 1)]), { ...ctx, targetSlot: 'A' }), 'ABU_ERR_TARGET_IS_ACTIVE'],
    ['an image one byte too large', () => buildInstallPlan(manifest([image('root', 'rootfs', 1001)]), ctx), 'ABU_ERR_IMAGE_TOO_LARGE'],
    ['an unknown slot class', () => buildInstallPlan(manifest([image('root', 'bootfs', 1)]), ctx), 'ABU_ERR_NO_SLOT_CLASS'],
    ['two images for one class', () => buildInstallPlan(manifest([image('a', 'rootfs', 1), image('b', 'rootfs', 1)]), ctx), 'ABU_ERR_MANIFEST_INVALID'],
    ['a policy violation', () => buildInstallPlan({ ...manifest([image('root', 'rootfs', 1)]), product: 'other' }, ctx), 'ABU_ERR_INCOMPATIBLE'],
  ];
  for (const [name, fn, code] of refusals) {
    it(`refuses ${name} (${code})`, () => assert.throws(fn, (e) => isAbuError(e, code as never)));
  }
});
