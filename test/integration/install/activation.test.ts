// Activation is the operator's decision: activating the booted slot keeps the current image, a pending
// activation can be undone, and a refused or failed install never erases another slot's release record.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { isAbuError } from '../../../engine/core/errors';
import { FileSource } from '../../../engine/sources/file-source';
import { bufferSource, simFixture, type SimFixture } from '../../helpers/sim-fixture';

describe('activation on the simulated appliance', function () {
  this.timeout(120_000);
  let f: SimFixture;
  before(async () => {
    f = await simFixture();
  });
  after(async () => f?.cleanup());

  const slot = async (name: string) => (await f.engine.status()).slots.find((s) => s.name === name)!;
  const stateFile = () => fs.readFile(`${f.sim.dir}/state/state.json`, 'utf8').then((t) => JSON.parse(t));

  it('shows a never-written slot as empty, not as a bad image', async () => {
    const b = await slot('B');
    assert.equal(b.image, 'empty');
    assert.equal(b.state, 'bad', 'the boot flags still say it is not bootable');
  });

  it('refuses to mark a never-written slot good: it would become a fallback the bootloader may start', async () => {
    await assert.rejects(f.engine.markGood('B'), (e: unknown) => isAbuError(e, 'ABU_ERR_NOT_INSTALLED') && /slot B holds no verified release; install one before marking it good/.test(e.message));
    const b = await slot('B');
    assert.equal(b.state, 'bad', 'the boot flags are unchanged');
    assert.equal(b.image, 'empty');
    await assert.rejects(f.engine.markGood('Z'), (e: unknown) => isAbuError(e, 'ABU_ERR_SLOT_UNKNOWN'));
    await f.engine.markGood(); // the booted slot needs no record: it is running
    await f.engine.markGood('A');
  });

  it('activating the booted, good slot is a no-op with a clear message', async () => {
    const before = await f.engine.status();
    const r = await f.engine.activate('A');
    assert.equal(r.changed, false);
    assert.match(r.message, /slot A .*already boots next; nothing changed/);
    assert.deepEqual((await f.engine.status()).slots, before.slots);
    assert.equal((await slot('A')).state, 'good', 'never turned into "trying"');
  });

  it('"keep current image" undoes a pending activation; the installed release stays activatable', async () => {
    await f.engine.install(new FileSource(f.sim.bundles[0]));
    assert.deepEqual((await f.engine.status()).pending?.slot, 'B');
    const r = await f.engine.activate('A');
    assert.equal(r.changed, true);
    assert.match(r.message, /activation of slot B was undone/);
    const s = await f.engine.status();
    assert.equal(s.pending, null);
    assert.deepEqual([(await slot('A')).state, (await slot('A')).primary], ['good', true]);
    assert.deepEqual([(await slot('B')).state, (await slot('B')).image, (await slot('B')).version], ['bad', 'verified', '1.1.0']);
    await f.engine.reboot();
    assert.equal((await f.engine.status()).booted, 'A', 'the restart keeps the current image');
    await f.engine.activate('other');
    await f.engine.reboot();
    assert.equal((await f.engine.status()).booted, 'B', 'the kept release can still be activated later');
  });

  it('then activating the booted B again changes nothing, and the next install into A is accepted', async () => {
    assert.equal((await f.engine.activate('B')).changed, false);
    assert.equal((await slot('B')).state, 'good');
    await f.engine.install(new FileSource(f.sim.bundles[1]), { activate: false });
    assert.equal((await slot('A')).version, '1.2.0');
  });

  it('a refused install leaves every release record as it was', async () => {
    const before = (await stateFile()).slots;
    // 1.2.0 is installed in A and 1.1.0 runs in B; 1.1.0 again is refused by policy before anything is written.
    await assert.rejects(f.engine.install(new FileSource(f.sim.bundles[0])), (e) => isAbuError(e));
    assert.deepEqual((await stateFile()).slots, before);
  });

  it('a failed install marks only its own target incomplete and keeps the booted slot\'s record', async () => {
    const bytes = await fs.readFile(f.sim.bundles[1]);
    await assert.rejects(f.engine.install(bufferSource(bytes, { failAt: bytes.length - 4096, mode: 'error' }), { activate: false }));
    const s = await stateFile();
    assert.equal(s.slots.B.version, '1.1.0');
    assert.equal(s.slots.B.verified, true);
    assert.equal(s.slots.A.verified, false, 'the interrupted target is never recorded as verified');
    assert.equal((await slot('A')).image, 'incomplete');
    assert.equal((await slot('A')).version, null);
    await assert.rejects(f.engine.activate('A'), (e) => isAbuError(e, 'ABU_ERR_NOT_INSTALLED'));
  });

  it('an irreversible release activates only with the operator\'s acceptance, and the refusal says why', async () => {
    await f.engine.install(new FileSource(f.sim.bundles[1]), { activate: false });
    await assert.rejects(f.engine.activate('A'), (e) => isAbuError(e, 'ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED') && /irreversible/.test(e.message) && /older than 1\.2\.0/.test(e.message));
    assert.equal((await slot('A')).state, 'bad', 'nothing flipped');
    const r = await f.engine.activate('A', { acceptIrreversible: true });
    assert.equal(r.changed, true);
    assert.equal((await slot('A')).primary, true);
  });

  it('an install refused at mark-bad (no other good slot) keeps the target\'s release record', async () => {
    await f.engine.activate('B'); // keep B: undoes the activation of A, A stays verified
    // A booted slot not yet confirmed (boot-check has not run): set the flags the way the bootloader leaves them.
    await f.engine.parts.boot.activate('B');
    const before = (await stateFile()).slots.A;
    await assert.rejects(f.engine.install(new FileSource(f.sim.bundles[1]), { activate: false }), (e) => isAbuError(e, 'ABU_ERR_ACTIVATE_REFUSED'));
    assert.deepEqual((await stateFile()).slots.A, before, 'A still holds its verified 1.2.0');
    await f.engine.markGood();
    assert.equal((await slot('A')).version, '1.2.0');
  });
});
