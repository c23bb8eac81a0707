// The atomic replace with a failure injected before every step: typed error, old or new content (never a mix), no temp left.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isAbuError } from '../../../engine/core/errors';
import { ATOMIC_STEPS, writeFileAtomic, type AtomicStep } from '../../../engine/state/atomic-file';
import { StateStore, emptyState } from '../../../engine/state/state-store';
import { tempDir } from '../../helpers/bundle-fixtures';

/**
 * The failure is injected through writeFileAtomic's step hook: EIO from fsync or close cannot be caused on a real
 * file system here (no device-mapper in this kernel). ENOSPC and EROFS from the real kernel are tested in
 * test/integration/install/state-storage-faults.test.ts.
 */
function failAt(target: AtomicStep, errno: string): (step: AtomicStep) => void {
  return (step) => {
    if (step === target) throw Object.assign(new Error(`${errno}: injected before ${step}`), { code: errno, syscall: step });
  };
}

const BEFORE_RENAME = ATOMIC_STEPS.indexOf('rename');

describe('writeFileAtomic under injected failures', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir('abu-atomic-')));
  afterEach(async () => cleanup());

  for (const errno of ['EIO', 'ENOSPC', 'EROFS']) {
    for (const [i, step] of ATOMIC_STEPS.entries()) {
      it(`${errno} at ${step}: ABU_ERR_STATE_WRITE, ${i <= BEFORE_RENAME ? 'the old' : 'the new'} content whole, no temp file`, async () => {
        const file = path.join(dir, 'state.json');
        await fs.writeFile(file, JSON.stringify({ v: 'old', pad: 'o'.repeat(5000) }));
        const next = JSON.stringify({ v: 'new', pad: 'n'.repeat(9000) });
        const err = await writeFileAtomic(file, next, 0o644, failAt(step, errno)).then(() => null, (e: unknown) => e);
        assert.ok(isAbuError(err, 'ABU_ERR_STATE_WRITE'), String(err));
        assert.equal(err.details.step, step);
        assert.equal(err.details.errno, errno);
        assert.match(err.message, new RegExp(`${step}: ${errno}`));
        assert.equal(JSON.parse(await fs.readFile(file, 'utf8')).v, i <= BEFORE_RENAME ? 'old' : 'new');
        assert.deepEqual(await fs.readdir(dir), ['state.json'], 'no temp file left behind');
        await writeFileAtomic(file, next);
        assert.equal(await fs.readFile(file, 'utf8'), next, 'the next write succeeds');
      });
    }
  }

  it('a state save failing at any step leaves a state file that loads', async () => {
    const store = new StateStore(dir);
    const before = emptyState();
    before.floor = '1.0.0';
    await store.save(before);
    for (const step of ATOMIC_STEPS) {
      const faulty = new StateStore(dir, failAt(step, 'EIO'));
      await assert.rejects(faulty.update((s) => s.history.push({ time: step, kind: 'install', slot: 'B', message: step })), (e) => isAbuError(e, 'ABU_ERR_STATE_WRITE'));
      const loaded = await store.load();
      assert.equal(loaded.floor, '1.0.0');
    }
  });
});
