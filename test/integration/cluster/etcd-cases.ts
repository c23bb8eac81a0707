// Clusters, part 4 (issue 9 point 8): the rollout journal and HA reboot slots in a real three-member etcd cluster
// (one etcd per namespace on the data-center bridges, or loopback ports when the site has no namespaces). During
// one rollout: the etcd leader is killed (the rollout goes on), the coordinator is killed and its local cluster
// state wiped (it resumes from etcd), and a second etcd member is killed so etcd loses its quorum (the coordinator
// reports the store unavailable, then carries on when the members return). Runs after rollout-cases.ts: every member
// boots 1.0.0 with 1.1.0 verified in its alternate slot.
import assert from 'node:assert/strict';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { EtcdCluster, type EtcdHost } from '../../helpers/etcd-cluster';
import { sharedSite } from './shared-site';
import type { SiteHarness } from './site-harness';
import { awayIntervals, bootedVersion, COORDINATOR, history, overlaps, sleep, status, waitRollout } from './site-steps';

const PREFIX = '/abu-cluster-test/';
const PARTNERS = [['dc1-b', 'dc1-c'], ['dc2-b', 'dc2-c']];

export function etcdCases(): void {
describe('cluster: rollout state in etcd (three etcd members; leader, coordinator and quorum lost mid-rollout)', function () {
  this.timeout(180_000);
  const site = sharedSite();
  let etcd: EtcdCluster | null = null;
  let configBefore = '';

  before(async function () {
    if (!existsSync('/usr/bin/etcd')) this.skip(); // scripts/setup --test installs Debian's etcd-server
    const h = site();
    const hosts: EtcdHost[] = [];
    for (const [i, dc] of [1, 2, 2].entries()) {
      const ep = await h.net.endpoint(7 + i, dc);
      hosts.push({ host: ep.host, ns: ep.ns });
    }
    etcd = await EtcdCluster.start(path.join(h.dir, 'etcd'), hosts);
    configBefore = await fs.readFile(h.member(COORDINATOR).sim.configPath, 'utf8');
    await restartCoordinator(h, (config) => {
      config.site.coordination = { kind: 'etcd', endpoints: etcd!.endpoints, prefix: PREFIX, timeoutMs: 3000 };
    });
  });

  after(async function () {
    if (!etcd) return;
    const h = site();
    await fs.writeFile(h.member(COORDINATOR).sim.configPath, configBefore);
    await restartCoordinator(h, () => undefined);
    await etcd.stop();
  });

  it('the coordinator reads its rollout state from etcd: none there yet, whatever its local journal holds', async () => {
    const h = site();
    const r = await h.call(COORDINATOR, 'GET', '/api/cluster/rollout');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json, { rollout: null, rebootSlots: {} });
    assert.ok(existsSync(localJournal(h)), 'the earlier rollouts left a local journal');
  });

  it('a rollout goes on through the loss of the etcd leader, of the coordinator\'s own state, and of the etcd quorum', async () => {
    const h = site();
    const since = new Date().toISOString();
    const rebootsBefore = new Map(h.members.map((m) => [m.name, m.proc.reboots]));
    const start = await h.call(COORDINATOR, 'POST', '/api/cluster/activate', { json: { bundle: '1.1.0' } });
    assert.equal(start.status, 202, JSON.stringify(start.json));
    assert.equal(start.json.rollout.ha, true);
    const seen = new Set<string>();
    const done: string[] = [];
    let unavailable: any = null;
    const r = await waitRollout(h, 150_000, async (rollout) => {
      // Members that reached their reboot (or came back from it): monotonic, so a poll missed while a fault is being
      // injected (the coordinator restart takes seconds) cannot leave a later fault untriggered.
      for (const m of Object.values<any>(rollout.members)) if ((m.phase === 'rebooting' || m.phase === 'healthy') && m.name !== COORDINATOR) seen.add(m.name);
      if (rollout.state !== 'running') return;
      if (seen.size >= 1 && !done.includes('leader')) {
        done.push('leader');
        await etcd!.kill(await etcd!.leader());
      } else if (seen.size >= 2 && !done.includes('coordinator')) {
        done.push('coordinator');
        // The coordinator's node is lost with its disk: nothing of the rollout may come from there.
        await h.member(COORDINATOR).proc.kill('SIGKILL');
        await fs.rm(path.dirname(localJournal(h)), { recursive: true, force: true });
        await h.member(COORDINATOR).proc.start();
      } else if (seen.size >= 3 && !done.includes('quorum')) {
        done.push('quorum');
        const down = etcd!.members.filter((m) => !m.proc).map((m) => m.name);
        const victim = etcd!.members.find((m) => m.proc)!.name;
        await etcd!.kill(victim);
        unavailable = await waitUnavailable(h, 15_000);
        for (const name of [...down, victim]) await etcd!.restart(name);
      }
    });
    assert.deepEqual(done, ['leader', 'coordinator', 'quorum'], 'every fault happened during the rollout');
    assert.equal(r.state, 'succeeded', JSON.stringify(r.members));
    assert.equal(unavailable.code, 'ABU_ERR_COORDINATION_UNAVAILABLE', JSON.stringify(unavailable));
    for (const m of h.members) {
      const s = await status(h, m.name);
      assert.deepEqual([m.name, bootedVersion(s), s.pending], [m.name, '1.1.0', null]);
      // Every member activated and rebooted exactly once: no fault made the rollout take a member down again.
      const activations = (await history(h, m.name)).filter((e) => e.time >= since && e.kind === 'activate').length;
      assert.deepEqual([m.name, activations, m.proc.reboots - rebootsBefore.get(m.name)!], [m.name, 1, 1]);
    }
    const away = new Map(await Promise.all(h.members.map(async (m) => [m.name, awayIntervals(await history(h, m.name), since)] as const)));
    for (const [a, b] of PARTNERS) assert.equal(overlaps(away.get(a)!, away.get(b)!), false, `HA partners ${a} and ${b} were away at the same time`);
    // The journal is the etcd key (the coordinator wrote nothing locally) and every reboot slot was released.
    const stored = JSON.parse((await etcd!.get(`${PREFIX}rollout`))!);
    assert.deepEqual([stored.id, stored.state], [r.id, 'succeeded']);
    assert.deepEqual(await etcd!.keys(`${PREFIX}reboot-slots/`), []);
    assert.equal(existsSync(localJournal(h)), false);
  });
});
}

function localJournal(h: SiteHarness): string {
  const config = JSON.parse(readFileSync(h.member(COORDINATOR).sim.configPath, 'utf8'));
  return path.resolve(path.dirname(h.member(COORDINATOR).sim.configPath), config.stateDir, 'cluster', 'coordination.json');
}

async function restartCoordinator(h: SiteHarness, edit: (config: any) => void): Promise<void> {
  const m = h.member(COORDINATOR);
  const config = JSON.parse(await fs.readFile(m.sim.configPath, 'utf8'));
  edit(config);
  await fs.writeFile(m.sim.configPath, JSON.stringify(config, null, 2));
  await m.proc.kill('SIGTERM');
  await m.proc.start();
}

/** Polls the coordinator's rollout API until it answers that its coordination store is unavailable. */
async function waitUnavailable(h: SiteHarness, timeoutMs: number): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await h.call(COORDINATOR, 'GET', '/api/cluster/rollout').catch(() => null);
    if (r?.status === 503) return r.json;
    if (Date.now() > end) return { code: `no 503 within ${timeoutMs} ms`, last: r?.json };
    await sleep(200);
  }
}
