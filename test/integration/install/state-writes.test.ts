// The state file replaces one install makes (each costs two fsyncs and a rename), in order, with what each one says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FileSource } from '../../../engine/sources/file-source';
import { StateStore, type PersistedState } from '../../../engine/state/state-store';
import { simFixture, type SimFixture } from '../../helpers/sim-fixture';

/** What each replace of state.json wrote, read from its temp file just before the rename (the hook's only seam). */
function recordReplaces(fx: SimFixture): PersistedState[] {
  const written: PersistedState[] = [];
  const dir = fx.engine.parts.config.stateDir;
  fx.engine.parts.state = new StateStore(dir, (step, file) => {
    if (step === 'rename') written.push(JSON.parse(readFileSync(path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`), 'utf8')) as PersistedState);
  });
  return written;
}

describe('state writes of an install', function () {
  this.timeout(60_000);
  let fx: SimFixture;

  beforeEach(async () => {
    fx = await simFixture();
  });
  afterEach(() => fx?.cleanup());

  it('activating: incomplete, then verified with the switch intended in one write, then the flags written', async () => {
    const written = recordReplaces(fx);
    await fx.engine.install(new FileSource(fx.sim.bundles[0]), { activate: true });
    assert.deepEqual(
      written.map((s) => [s.slots.B?.verified, s.pending?.flagsWritten ?? null]),
      [[false, null], [true, false], [true, true]],
      'three replaces: the record and the intent share one (they were two)',
    );
    assert.equal(written[1].pending?.slot, 'B');
    assert.equal(written[1].history.at(-1)?.kind, 'install');
    assert.equal(written[2].history.at(-1)?.kind, 'activate');
  });

  it('not activating: incomplete, then verified, and no intent', async () => {
    const written = recordReplaces(fx);
    await fx.engine.install(new FileSource(fx.sim.bundles[0]), { activate: false });
    assert.deepEqual(written.map((s) => [s.slots.B?.verified, s.pending]), [[false, null], [true, null]]);
  });
});
