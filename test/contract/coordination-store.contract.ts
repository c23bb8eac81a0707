// Contract suite every CoordinationStore must pass (rollout journal + FleetLock reboot slots); run per
// implementation by coordination-store.test.ts.
import * as assert from 'node:assert/strict';
import type { CoordinationStore, Rollout } from '../../engine/cluster/coordination-store';

/** A store under test; `reopen` gives a second instance on the same backing state (a restarted coordinator). */
export interface StoreUnderTest {
  store: CoordinationStore;
  reopen(): CoordinationStore;
}

export function sampleRollout(id: string, state: Rollout['state'] = 'running'): Rollout {
  const member = (name: string) => ({ name, phase: 'waiting' as const, target: '1.1.0', detail: 'waiting', percent: null, rebootAskedAt: null, startedAt: null, finishedAt: null });
  return {
    id, kind: 'activate', sha256: 'ab'.repeat(32), version: '1.1.0', ha: true, acceptIrreversible: false, state, error: null,
    startedAt: '2024-01-01T00:00:00.000Z', finishedAt: null, order: ['a', 'b', 'c'], members: { a: member('a'), b: member('b'), c: member('c') },
  };
}

export function coordinationStoreContract(name: string, make: () => Promise<StoreUnderTest>): void {
  describe(`CoordinationStore contract: ${name}`, () => {
    let t: StoreUnderTest;
    const opened: CoordinationStore[] = [];
    beforeEach(async () => {
      t = await make();
      opened.push(t.store);
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close?.();
    });
    const reopen = () => {
      const s = t.reopen();
      opened.push(s);
      return s;
    };

    it('starts with no rollout and no slot held', async () => {
      assert.equal(await t.store.loadRollout(), null);
      assert.deepEqual(await t.store.rebootSlots(), {});
    });

    it('saves the whole rollout and replaces it whole; a save is a snapshot of the object at that moment', async () => {
      const r = sampleRollout('r1');
      await t.store.saveRollout(r);
      r.members.a.phase = 'healthy';
      assert.equal((await t.store.loadRollout())!.members.a.phase, 'waiting');
      await t.store.saveRollout(r);
      assert.deepEqual(await t.store.loadRollout(), r);
      await t.store.saveRollout(sampleRollout('r2', 'succeeded'));
      assert.deepEqual(await t.store.loadRollout(), sampleRollout('r2', 'succeeded'));
    });

    it('applies concurrent saves in call order: the last one is what stays', async () => {
      const saves = [];
      for (let i = 0; i < 8; i++) saves.push(t.store.saveRollout(sampleRollout(`r${i}`)));
      await Promise.all(saves);
      assert.equal((await t.store.loadRollout())!.id, 'r7');
    });

    it('keeps the journal and the held slots for the next instance (a restarted coordinator)', async () => {
      await t.store.saveRollout(sampleRollout('kept'));
      assert.equal(await t.store.acquireRebootSlot('ha1', 'b'), true);
      const again = reopen();
      assert.equal((await again.loadRollout())!.id, 'kept');
      assert.deepEqual(await again.rebootSlots(), { ha1: ['b'] });
      // FleetLock: the same holder taking its slot again after a restart is let through; its partner is not.
      assert.equal(await again.acquireRebootSlot('ha1', 'b'), true);
      assert.equal(await again.acquireRebootSlot('ha1', 'c'), false);
    });

    it('reboot slots: one holder per group, idempotent per holder, freed only by the holder', async () => {
      assert.equal(await t.store.acquireRebootSlot('ha1', 'b'), true);
      assert.equal(await t.store.acquireRebootSlot('ha1', 'b'), true);
      assert.equal(await t.store.acquireRebootSlot('ha1', 'c'), false);
      assert.equal(await t.store.acquireRebootSlot('ha2', 'e'), true, 'groups are separate');
      await t.store.releaseRebootSlot('ha1', 'c');
      assert.deepEqual(await t.store.rebootSlots(), { ha1: ['b'], ha2: ['e'] });
      await t.store.releaseRebootSlot('ha1', 'b');
      await t.store.releaseRebootSlot('ha1', 'b');
      assert.deepEqual(await t.store.rebootSlots(), { ha2: ['e'] });
      assert.equal(await t.store.acquireRebootSlot('ha1', 'c'), true);
    });

    it('reboot slots with a capacity of two: the third holder waits', async () => {
      assert.equal(await t.store.acquireRebootSlot('big', 'x', 2), true);
      assert.equal(await t.store.acquireRebootSlot('big', 'y', 2), true);
      assert.equal(await t.store.acquireRebootSlot('big', 'z', 2), false);
      assert.deepEqual((await t.store.rebootSlots()).big.sort(), ['x', 'y']);
    });

    it('concurrent takers of one slot: exactly one gets it', async () => {
      const got = await Promise.all(['m1', 'm2', 'm3', 'm4', 'm5'].map((h) => t.store.acquireRebootSlot('race', h)));
      assert.equal(got.filter(Boolean).length, 1, JSON.stringify(got));
      assert.equal((await t.store.rebootSlots()).race.length, 1);
    });
  });
}
