// Rollout runner resuming from a journal: a reboot slot whose release was lost (the coordinator died, or the store did
// not answer, after the journal said the member was back) is freed again, so the member's HA partner gets its turn;
// and a member whose step ends while the runner reads a slow store does not end the rollout before its partner ran.
// The member clients are fakes at the transport seam (every member already runs the target); the store is the real
// local journal (slowed down in the second case, as etcd over a delayed link is).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalCoordinationStore } from '../../../engine/cluster/local-coordination-store';
import type { MemberClient } from '../../../engine/cluster/member-client';
import type { Replicator } from '../../../engine/cluster/replicator';
import { newRollout } from '../../../engine/cluster/rollout-plan';
import { RolloutRunner } from '../../../engine/cluster/rollout-runner';
import { Site } from '../../../engine/cluster/site';
import type { ApplianceStatus } from '../../../engine/facade';
import { parseSiteConfig } from '../../../engine/site-config';

const TOKEN = 'a-token-of-sixteen-plus';

function site(): Site {
  const m = (name: string, role: string, haGroup?: string) => ({ name, url: `http://${name}:8080`, token: `${TOKEN}-${name}`, dataCenter: 'dc1', role, organizations: ['o'], ...(haGroup ? { haGroup } : {}) });
  return new Site(parseSiteConfig({
    self: 'p1', coordinator: 'p1', rollout: { pollMs: 20 },
    members: [m('p1', 'primary'), m('s1', 'secondary', 'ha'), m('n1', 'node', 'ha')],
  }, (p) => p, '/keys'));
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Every member already boots 2.0.0, confirmed: a step only reads its status (after `delayMs`). */
function onTargetClient(member: MemberClient['member'], delayMs = 0): MemberClient {
  const slot = (name: string, booted: boolean) => ({ name, device: 'd', version: booted ? '2.0.0' : '1.0.0', description: null, irreversible: false, state: 'good' as const, triesLeft: 3, booted, primary: booted, image: 'verified' as const });
  const status: ApplianceStatus = { product: 'p', booted: 'A', alternate: 'B', slots: [slot('A', true), slot('B', false)], floor: null, operation: null, lock: null, pending: null, lastError: null, resumable: null };
  return { member, status: async () => (await sleep(delayMs), status) } as unknown as MemberClient;
}

/** The journal once the rollout stopped running (or after 5 s). */
async function settled(store: LocalCoordinationStore) {
  const end = Date.now() + 5000;
  let now = await store.loadRollout();
  while (now?.state === 'running' && Date.now() < end) {
    await sleep(20);
    now = await store.loadRollout();
  }
  return now;
}

/** Answers the slot table as it was when asked, 100 ms later: a store behind a slow link. */
class SlowSlotsStore extends LocalCoordinationStore {
  override async rebootSlots(): Promise<Record<string, string[]>> {
    const slots = await super.rebootSlots();
    await sleep(100);
    return slots;
  }
}

describe('rollout runner', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'abu-runner-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('frees a reboot slot still held by a member the journal shows back, so its HA partner takes its turn', async () => {
    const s = site();
    const store = new LocalCoordinationStore(dir);
    const r = newRollout(s, { kind: 'activate', sha256: 'x', version: '2.0.0', ha: true, acceptIrreversible: false, targets: { p1: '2.0.0', s1: '2.0.0', n1: '2.0.0' } });
    Object.assign(r.members.p1, { phase: 'healthy', detail: 'healthy on 2.0.0' });
    Object.assign(r.members.s1, { phase: 'healthy', detail: 'healthy on 2.0.0' });
    await store.saveRollout(r);
    assert.equal(await store.acquireRebootSlot('ha', 's1'), true); // the release that never happened
    const runner = new RolloutRunner(s, store, onTargetClient, null as unknown as Replicator);
    try {
      await runner.resume();
      const now = await settled(store);
      assert.equal(now?.state, 'succeeded', JSON.stringify(now));
      assert.equal(now?.members.n1.phase, 'healthy');
      assert.deepEqual(await store.rebootSlots(), {});
    } finally {
      runner.stop();
    }
  });

  it('a member whose step ends while the slot table is being read does not end the rollout before its HA partner', async () => {
    const s = site();
    const store = new SlowSlotsStore(dir);
    const r = newRollout(s, { kind: 'activate', sha256: 'x', version: '2.0.0', ha: true, acceptIrreversible: false, targets: { p1: '2.0.0', s1: '2.0.0', n1: '2.0.0' } });
    Object.assign(r.members.p1, { phase: 'healthy', detail: 'healthy on 2.0.0' });
    await store.saveRollout(r);
    // s1's step (150 ms) ends inside a later slot read (100 ms each) that still saw s1 holding the group's slot.
    const runner = new RolloutRunner(s, store, (m) => onTargetClient(m, m.name === 's1' ? 150 : 0), null as unknown as Replicator);
    try {
      await runner.resume();
      const now = await settled(store);
      assert.equal(now?.state, 'succeeded', JSON.stringify(now));
      assert.equal(now?.members.n1.phase, 'healthy');
    } finally {
      runner.stop();
    }
  });
});
