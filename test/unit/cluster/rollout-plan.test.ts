// Rollout planning: order (coordinator first), HA reboot slots in the scheduler, cluster-wide switch-back refusal.
import assert from 'node:assert/strict';
import { Site } from '../../../engine/cluster/site';
import { newRollout, rolloutOrder, startable, switchBackRefusals } from '../../../engine/cluster/rollout-plan';
import type { ApplianceStatus } from '../../../engine/facade';
import { parseSiteConfig } from '../../../engine/site-config';

const TOKEN = 'a-token-of-sixteen-plus';

function site(): Site {
  const m = (name: string, dataCenter: string, role: string, haGroup?: string) => ({ name, url: `http://${name}:8080`, token: `${TOKEN}-${name}`, dataCenter, role, organizations: ['o'], ...(haGroup ? { haGroup } : {}) });
  return new Site(parseSiteConfig({
    self: 'p1', coordinator: 'p1',
    members: [m('n1', 'dc1', 'node', 'ha'), m('s1', 'dc1', 'secondary', 'ha'), m('p1', 'dc1', 'primary'), m('p2', 'dc2', 'primary'), m('n2', 'dc2', 'node', 'hb'), m('s2', 'dc2', 'secondary', 'hb')],
  }, (p) => p, '/keys'));
}

function status(o: { alternate: string | null; image?: 'verified' | 'empty'; floor?: string | null }): ApplianceStatus {
  const slot = (name: string, version: string | null, booted: boolean) => ({ name, device: 'd', version, description: null, irreversible: false, state: 'good' as const, triesLeft: 3, booted, primary: booted, image: booted ? 'verified' as const : o.image ?? 'verified' });
  return { product: 'p', booted: 'A', alternate: 'B', slots: [slot('A', '2.0.0', true), slot('B', o.alternate, false)], floor: o.floor ?? null, operation: null, lock: null, pending: null, lastError: null, resumable: null };
}

describe('rollout plan', () => {
  it('orders the coordinator first, then primaries, secondaries and nodes', () => {
    assert.deepEqual(rolloutOrder(site()), ['p1', 'p2', 's1', 's2', 'n1', 'n2']);
  });

  it('in HA mode starts at most one member of an HA group, up to maxParallel', () => {
    const s = site();
    const r = newRollout(s, { kind: 'activate', sha256: 'x', version: '2.0.0', ha: true, acceptIrreversible: false, targets: {} });
    assert.deepEqual(startable(r, s, {}, new Set(), 10), ['p2', 's1', 's2']);
    assert.deepEqual(startable(r, s, {}, new Set(), 2), ['p2', 's1']);
    // s1 holds group "ha": its partner n1 waits; the running s1 is not started twice.
    r.members.p2.phase = 'healthy';
    r.members.s2.phase = 'healthy';
    assert.deepEqual(startable(r, s, { ha: ['s1'] }, new Set(['s1']), 10), ['n2']);
    assert.deepEqual(startable({ ...r, ha: false }, s, { ha: ['s1'] }, new Set(['s1']), 10), ['n1', 'n2']);
    assert.deepEqual(startable({ ...r, state: 'stopping' }, s, {}, new Set(), 10), []);
  });

  it('refuses a switch back for the whole cluster when one member is below its floor or has nothing to go back to', () => {
    const s = site();
    const ok = new Map<string, ApplianceStatus | null>(s.members.map((m) => [m.name, status({ alternate: '1.0.0' })]));
    assert.deepEqual(switchBackRefusals(s, ok), []);
    const bad = new Map(ok);
    bad.set('s2', status({ alternate: '1.0.0', floor: '1.5.0' }));
    bad.set('n1', status({ alternate: null, image: 'empty' }));
    bad.set('p2', null);
    assert.deepEqual(switchBackRefusals(s, bad), [
      { member: 'n1', reason: 'its alternate image (slot B) holds no verified release' },
      { member: 'p2', reason: 'does not answer' },
      { member: 's2', reason: 'its alternate image 1.0.0 is below its irreversible floor 1.5.0' },
    ]);
  });
});
