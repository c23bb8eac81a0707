// O_EXCL on block-device slots: a target partition that is mounted or claimed by another opener is refused with
// ABU_ERR_BUSY naming the device, before the target is marked bad, so nothing changes (loop devices, root).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BlockFile } from '../../../native/block-io';
import { isAbuError } from '../../../engine/core/errors';
import { createEngine } from '../../../engine/engine';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { FileSource } from '../../../engine/sources/file-source';
import { loopAppliance, whyNoLoop } from '../../helpers/loop-appliance';
import { snapshot } from './appliance-procs';


describe('block-device slots are claimed exclusively (O_EXCL, loop devices, root)', function () {
  this.timeout(60_000);
  let sim: SimAppliance;
  let loop = '';
  let cleanup: () => Promise<void> = async () => undefined;

  before(async function () {
    if (whyNoLoop()) return this.skip(); // CI runs as root with loop devices; see README
    ({ sim, loop, cleanup } = await loopAppliance('abu-excl-'));
  });
  after(async () => cleanup());

  /** The install is refused with ABU_ERR_BUSY naming the partition, and state, env and slots are unchanged. */
  async function assertRefusedUntouched(): Promise<void> {
    const engine = await createEngine(sim.configPath);
    execFileSync('sync');
    const before = await snapshot(sim);
    await assert.rejects(engine.install(new FileSource(sim.bundles[0])), (e) => {
      assert.ok(isAbuError(e, 'ABU_ERR_BUSY'), String(e));
      assert.match(e.message, new RegExp(`${loop}p3 \\(slot B\\) is mounted or claimed by another process`));
      assert.equal(e.details.device, `${loop}p3`);
      return true;
    });
    execFileSync('sync');
    const after = await snapshot(sim);
    assert.deepEqual({ ...after, state: releases(after.state) }, { ...before, state: releases(before.state) }, 'not even the target was marked bad');
    assert.equal(JSON.parse(after.state).history.at(-1).code, 'ABU_ERR_BUSY', 'only the failure is recorded');
  }

  /** The part of state.json an install changes (the failure record aside): releases, floor, pending activation. */
  function releases(state: string): unknown {
    const s = JSON.parse(state);
    return { slots: s.slots, floor: s.floor, pending: s.pending };
  }

  async function assertInstalls(): Promise<void> {
    const result = await (await createEngine(sim.configPath)).install(new FileSource(sim.bundles[0]));
    assert.deepEqual([result.slot, result.version], ['B', '1.1.0']);
  }

  it('refuses a target partition another opener claimed with O_EXCL, then installs once it lets go', async () => {
    const claim = await BlockFile.open(`${loop}p3`, { write: false, direct: false, exclusive: true });
    try {
      await assertRefusedUntouched();
    } finally {
      await claim.close();
    }
    await assertInstalls();
  });

  it('refuses a mounted target partition, then installs once it is unmounted', async function () {
    execFileSync('mkfs.ext4', ['-q', '-F', `${loop}p3`]);
    const mnt = await fs.mkdtemp(path.join(path.dirname(sim.dir), 'abu-excl-mnt-'));
    try {
      execFileSync('mount', [`${loop}p3`, mnt], { stdio: 'ignore' });
    } catch {
      await fs.rmdir(mnt);
      return this.skip(); // a sandbox without mount rights; the O_EXCL claim above covers the same kernel check
    }
    try {
      await assertRefusedUntouched();
    } finally {
      execFileSync('umount', [mnt]);
      await fs.rmdir(mnt);
    }
    await assertInstalls();
  });
});
