// A whole update walked on the simulated appliance: install, try-once, reboot, confirm, chain, floor, rollback.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { isAbuError } from '../../../engine/core/errors';
import { FileSource } from '../../../engine/sources/file-source';
import { simFixture, slotBytes, slotHash, type SimFixture } from '../../helpers/sim-fixture';

describe('update lifecycle on the simulated appliance', function () {
  this.timeout(120_000);
  let f: SimFixture;
  before(async () => {
    f = await simFixture();
  });
  after(async () => f?.cleanup());

  const slot = async (name: string) => (await f.engine.status()).slots.find((s) => s.name === name)!;

  it('starts on A with 1.0.0, good and primary; B unbootable', async () => {
    const s = await f.engine.status();
    assert.equal(s.booted, 'A');
    assert.equal(s.alternate, 'B');
    assert.deepEqual([(await slot('A')).version, (await slot('A')).state, (await slot('A')).primary], ['1.0.0', 'good', true]);
    assert.equal((await slot('B')).state, 'bad');
  });

  it('installs 1.1.0 into B without touching A, and sets B to be tried', async () => {
    const aBefore = await slotHash(f.sim, 'A');
    const result = await f.engine.install(new FileSource(f.sim.bundles[0]));
    assert.equal(result.slot, 'B');
    assert.equal(result.version, '1.1.0');
    assert.equal(await slotHash(f.sim, 'A'), aBefore);
    const image = await fs.readFile(`${f.sim.dir}/images/rootfs-1.1.0.img`);
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image), 'B holds the image byte for byte');
    const b = await slot('B');
    assert.equal(b.state, 'trying');
    assert.equal(b.primary, true);
    assert.equal(b.version, '1.1.0');
    assert.equal((await slot('A')).state, 'good', 'A stays the fallback');
  });

  it('boots B after the reboot and confirms it with the health check', async () => {
    await f.engine.reboot();
    const s = await f.engine.status();
    assert.equal(s.booted, 'B');
    assert.equal((await slot('B')).state, 'good');
    const kinds = (await f.engine.history()).map((h) => h.kind);
    assert.deepEqual(kinds.slice(0, 3), ['mark-good', 'activate', 'install']);
  });

  it('refuses 1.1.0 again (not newer) and leaves flags alone', async () => {
    await assert.rejects(f.engine.install(new FileSource(f.sim.bundles[0])), (e) => isAbuError(e, 'ABU_ERR_PREDECESSOR') || isAbuError(e, 'ABU_ERR_DOWNGRADE'));
    assert.equal((await slot('B')).primary, true);
    assert.equal((await slot('A')).state, 'good');
  });

  it('refuses to activate the irreversible 1.2.0 without the operator\'s confirmation, before writing', async () => {
    const before = await f.engine.status();
    await assert.rejects(f.engine.install(new FileSource(f.sim.bundles[1])), (e) => isAbuError(e, 'ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED') && /--accept-irreversible/.test(e.message));
    assert.deepEqual((await f.engine.status()).slots, before.slots, 'no flag flipped, no record changed');
  });

  it('installs the irreversible 1.2.0 into A; the floor rises only once it is confirmed', async () => {
    await f.engine.install(new FileSource(f.sim.bundles[1]), { acceptIrreversible: true });
    assert.equal((await f.engine.status()).floor, null, 'not yet: 1.2.0 has not proven itself');
    await f.engine.reboot();
    const s = await f.engine.status();
    assert.equal(s.booted, 'A');
    assert.equal(s.floor, '1.2.0');
  });

  it('refuses to switch back to the alternate image below the floor', async () => {
    await assert.rejects(f.engine.activate('other'), (e) => isAbuError(e, 'ABU_ERR_BELOW_FLOOR'));
    assert.equal((await slot('A')).primary, true);
  });
});

describe('rollback on the simulated appliance', function () {
  this.timeout(120_000);
  let f: SimFixture;
  before(async () => {
    f = await simFixture();
  });
  after(async () => f?.cleanup());

  it('a release whose health check fails is marked bad, A boots again and the rollback is reported', async () => {
    await f.engine.install(new FileSource(f.sim.brokenBundle));
    await f.engine.reboot();
    const s = await f.engine.status();
    assert.equal(s.booted, 'A');
    assert.equal(s.slots.find((x) => x.name === 'B')!.state, 'bad');
    assert.equal(s.lastError?.code, 'ABU_ERR_ROLLBACK');
    const history = await f.engine.history();
    assert.equal(history[0].kind, 'rollback');
    assert.match(history[0].message, /slot B \(1\.1\.0\)/);
    assert.match(history[0].message, /health check/, 'the rollback names the failed health check');
    assert.ok(history.some((h) => h.kind === 'mark-bad' && h.code === 'ABU_ERR_HEALTH_CHECK'));
  });

  it('then installs the good 1.1.0 and switches back to the alternate image on request', async () => {
    await f.engine.install(new FileSource(f.sim.bundles[0]));
    await f.engine.reboot();
    assert.equal((await f.engine.status()).booted, 'B');
    await f.engine.activate('other');
    await f.engine.reboot();
    const s = await f.engine.status();
    assert.equal(s.booted, 'A');
    assert.equal(s.slots.find((x) => x.name === 'A')!.version, '1.0.0');
    assert.equal(s.slots.find((x) => x.name === 'B')!.state, 'good', 'B stays as the alternate image');
  });
});

describe('power cut between the activation record and the flag write', function () {
  this.timeout(120_000);
  let f: SimFixture;
  before(async () => {
    f = await simFixture();
  });
  after(async () => f?.cleanup());

  it('is not reported as a rollback: the bootloader never saw the switch', async () => {
    // Stand-in for the cut: the flag write never happens (the env store itself is real).
    const boot = f.engine.parts.boot;
    const realActivate = boot.activate.bind(boot);
    boot.activate = async () => {
      throw Object.assign(new Error('power lost'), { code: 'EIO' });
    };
    await assert.rejects(f.engine.install(new FileSource(f.sim.bundles[0])));
    boot.activate = realActivate;
    await f.engine.reboot();
    const s = await f.engine.status();
    assert.equal(s.booted, 'A');
    const history = await f.engine.history();
    assert.ok(!history.some((h) => h.kind === 'rollback'), 'no rollback recorded');
    assert.match(history[0].message, /interrupted before the boot flags were written/);
  });
});
