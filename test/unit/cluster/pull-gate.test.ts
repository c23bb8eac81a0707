// The coordinator's pull gate: a site of many members never has more than site.replication.maxParallel pulls open at
// once, sources go before the members that fetch from them, and every member still ends verified. Member clients are
// fakes at the transport seam (a fake member "holds" its source's bytes once its source is verified); the replica
// store is only asked for the coordinator's own copy.
import assert from 'node:assert/strict';
import type { MemberClient } from '../../../engine/cluster/member-client';
import { PullGate } from '../../../engine/cluster/pull-gate';
import type { ReplicaStore } from '../../../engine/cluster/replica-store';
import { Replicator } from '../../../engine/cluster/replicator';
import { Site, type SiteMember } from '../../../engine/cluster/site';
import { parseSiteConfig } from '../../../engine/site-config';

const SHA = 'a'.repeat(64);

function bigSite(dataCenters: number, perDc: number, maxParallel: number): Site {
  const members = [];
  for (let d = 1; d <= dataCenters; d++) {
    for (let i = 0; i < perDc; i++) {
      const name = d === 1 && i === 0 ? 'coord' : `dc${d}-${i}`;
      members.push({ name, url: `http://${name}:8080`, token: `token-of-sixteen-plus-${name}`, dataCenter: `dc${d}`, role: i === 0 ? 'primary' : 'secondary', organizations: ['o'] });
    }
  }
  return new Site(parseSiteConfig({ self: 'coord', coordinator: 'coord', members, replication: { maxParallel, retryBaseMs: 10 } }, (p) => p, '/keys'));
}

describe('pull gate', () => {
  it('admits at most its limit, in the order asked, and passes a place on when it is given back', async () => {
    const gate = new PullGate(2);
    const order: number[] = [];
    const leaves = await Promise.all([gate.enter(), gate.enter()]);
    const third = gate.enter().then((leave) => (order.push(3), leave));
    const fourth = gate.enter().then((leave) => (order.push(4), leave));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, []);
    assert.equal(gate.holders, 2);
    leaves[0]();
    leaves[0](); // a second give-back of the same place changes nothing
    (await third)();
    leaves[1]();
    (await fourth)();
    assert.deepEqual(order, [3, 4]);
    assert.equal(gate.holders, 0);
  });

  it('drops a waiter whose signal aborts', async () => {
    const gate = new PullGate(1);
    const leave = await gate.enter();
    const ac = new AbortController();
    const waiting = gate.enter(ac.signal);
    ac.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    leave();
    assert.equal(gate.holders, 0);
  });

  it('keeps a 60-member replication to maxParallel pulls at once, sources first, and every member verified', async () => {
    const site = bigSite(6, 10, 4);
    const verified = new Set<string>(['coord']);
    let open = 0;
    let peak = 0;
    const startedBeforeSource: string[] = [];
    const started = new Set<string>(['coord']);
    const client = (member: SiteMember): MemberClient => ({
      member,
      replica: async () => ({ sha256: SHA, state: verified.has(member.name) ? 'verified' : 'absent', have: 0, size: 100 }),
      pullReplica: async () => {
        const source = site.sourceOf(member)!;
        if (!started.has(source.name)) startedBeforeSource.push(member.name);
        started.add(member.name);
        open++;
        peak = Math.max(peak, open);
        while (!verified.has(source.name)) await new Promise((r) => setTimeout(r, 2));
        await new Promise((r) => setTimeout(r, 3));
        open--;
        verified.add(member.name);
        return { offset: 0, received: 100, state: { sha256: SHA, state: 'verified', have: 100, size: 100 } };
      },
    }) as unknown as MemberClient;
    const store = { fileOf: async () => '/x', list: async () => [] } as unknown as ReplicaStore;
    const r = new Replicator(site, store, client);
    r.replicate({ sha256: SHA, size: 100, version: '2.0.0' } as never);
    const end = Date.now() + 20_000;
    while (r.statusOf(SHA)!.members.some((m) => m.state !== 'verified') && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
    assert.ok(r.statusOf(SHA)!.members.every((m) => m.state === 'verified'), JSON.stringify(r.statusOf(SHA)));
    assert.ok(peak <= 4, `${peak} pulls were open at once`);
    assert.deepEqual(startedBeforeSource, []);
  });
});
