// Clusters, part 2 (product-docs/002): "Activate alternate image" cluster-wide on the same six daemons as
// replication.test.ts (run first: it leaves 1.1.0 replicated 6/6, loaded into the alternate image of dc1-c, dc2-a, dc2-b).
// Every reboot really takes the member's daemon down (member-process.ts) and brings it back through boot-check.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { sharedSite } from './shared-site';
import { awayIntervals, bootedVersion, COORDINATOR, history, overlaps, sleep, status, waitRollout, watchRollout } from './site-steps';

const PARTNERS = [['dc1-b', 'dc1-c'], ['dc2-b', 'dc2-c']];

export function rolloutCases(): void {
describe('cluster: activate alternate image (primary first, HA partners never away together)', function () {
  this.timeout(180_000);
  const site = sharedSite();
  let firstRolloutStart = '';
  // Who the first rollout updated depends on timing: dc2-b starts only if dc2-a is back before dc1-b fails.
  let updatedByFirst = new Set<string>();

  it('a node whose new image fails its health check stops the rollout; its HA partner is untouched', async () => {
    const h = site();
    const failing = h.member('dc1-b');
    await fs.writeFile(path.join(failing.sim.dir, 'fail-new-image'), '');
    firstRolloutStart = new Date().toISOString();
    const watch = watchRollout(h);
    const start = await h.call(COORDINATOR, 'POST', '/api/cluster/activate', { json: { bundle: '1.1.0' } });
    assert.equal(start.status, 202, JSON.stringify(start.json));
    assert.equal(start.json.rollout.ha, true);
    assert.deepEqual(start.json.rollout.order, ['dc1-a', 'dc2-a', 'dc1-b', 'dc2-b', 'dc1-c', 'dc2-c']);
    const r = await waitRollout(h, 90_000).finally(() => watch.stop());
    await fs.rm(path.join(failing.sim.dir, 'fail-new-image'));
    // dc1-a installs 1.1.0 first (the others hold it already or come after its reboot ends this stream): the
    // coordinator took the percentage from the member's own progress while it wrote or read the image back.
    const installing = watch.events.map((e) => e?.members?.['dc1-a']).filter((m) => m?.phase === 'installing');
    const measured = installing.filter((m) => /: (writing|reading back)/.test(m.detail));
    assert.ok(measured.length > 0 && measured.every((m) => Number.isInteger(m.percent) && m.percent >= 0 && m.percent <= 100), `dc1-a's install with its own percentages: ${JSON.stringify(installing.map((m) => [m.percent, m.detail]))}`);
    assert.equal(r.state, 'failed');
    updatedByFirst = new Set(Object.values<any>(r.members).filter((m) => m.phase === 'healthy').map((m) => m.name));
    assert.match(r.error, /^dc1-b: came back on 1\.0\.0 instead of 1\.1\.0: .*health check "new-image" failed/);
    assert.equal(r.members['dc1-a'].phase, 'healthy');
    assert.equal(r.members['dc1-c'].phase, 'skipped');
    assert.equal(bootedVersion(await status(h, 'dc1-b')), '1.0.0');
    // The partner was never touched: no activation, no reboot, still booting 1.0.0.
    const partner = h.member('dc1-c');
    assert.equal(partner.proc.reboots, 0);
    assert.deepEqual((await history(h, 'dc1-c')).filter((e) => e.time >= firstRolloutStart && e.kind === 'activate'), []);
    assert.equal((await status(h, 'dc1-c')).pending, null);
    // Primary first: every other member's activation comes after the coordinator's boot-check confirmed it.
    const primaryGood = (await history(h, COORDINATOR)).find((e) => e.time >= firstRolloutStart && e.kind === 'mark-good')!.time;
    for (const name of ['dc2-a', 'dc1-b']) {
      const activated = (await history(h, name)).filter((e) => e.time >= firstRolloutStart && e.kind === 'activate');
      assert.ok(activated.length === 1 && activated[0].time > primaryGood, `${name} activated after ${COORDINATOR} was healthy`);
    }
  });

  it('resumes after the coordinator is killed mid-rollout, never rebooting an updated member again; partners never away together', async () => {
    const h = site();
    const since = new Date().toISOString();
    const rebootsBefore = new Map(h.members.map((m) => [m.name, m.proc.reboots]));
    const start = await h.call(COORDINATOR, 'POST', '/api/cluster/activate', { json: {} });
    assert.equal(start.status, 202, JSON.stringify(start.json));
    assert.equal(start.json.rollout.version, '1.1.0');
    let killed = false;
    const r = await waitRollout(h, 120_000, async (rollout) => {
      const rebooting = Object.values<any>(rollout.members).find((m) => m.phase === 'rebooting' && m.name !== COORDINATOR);
      if (killed || !rebooting) return;
      killed = true;
      await h.member(COORDINATOR).proc.kill('SIGKILL');
      await sleep(1000);
      await h.member(COORDINATOR).proc.start();
    });
    assert.ok(killed, 'the coordinator was killed while a member rebooted');
    assert.equal(r.state, 'succeeded', JSON.stringify(r.members));
    for (const m of h.members) {
      const s = await status(h, m.name);
      assert.deepEqual([m.name, bootedVersion(s), s.slots.find((x: any) => x.name === s.booted).state], [m.name, '1.1.0', 'good']);
      // Members updated by the first rollout are not activated or rebooted again; the others exactly once.
      const again = (await history(h, m.name)).filter((e) => e.time >= since && e.kind === 'activate').length;
      const expected = updatedByFirst.has(m.name) ? 0 : 1;
      assert.deepEqual([m.name, again, m.proc.reboots - rebootsBefore.get(m.name)!], [m.name, expected, expected]);
    }
    const away = new Map(await Promise.all(h.members.map(async (m) => [m.name, awayIntervals(await history(h, m.name), firstRolloutStart)] as const)));
    for (const [a, b] of PARTNERS) assert.equal(overlaps(away.get(a)!, away.get(b)!), false, `HA partners ${a} and ${b} were away at the same time`);
    // The check can fail: the runner had members of different HA groups in their turns at once. By the journal's
    // turns, not by the times they were down: whether those overlap is a race (a member that only activates can be
    // back before one that installs first goes down, more so with the install's progress on the delayed link).
    const turn = (n: string) => [{ from: Date.parse(r.members[n].startedAt), to: Date.parse(r.members[n].finishedAt) }];
    const [g1, g2] = PARTNERS.map((g) => g.filter((n) => !updatedByFirst.has(n)));
    assert.ok(g1.some((a) => g2.some((b) => overlaps(turn(a), turn(b)))), `members of different HA groups had their turns together: ${JSON.stringify([...g1, ...g2].map((n) => [n, r.members[n].startedAt, r.members[n].finishedAt]))}`);
    // The harness saw the same: no moment with both partners' daemons down.
    for (const [a, b] of PARTNERS) assert.equal(overlaps(downIntervals(h.member(a).proc.events), downIntervals(h.member(b).proc.events)), false, `${a}/${b} daemons down together`);
  });

  it('switches the whole cluster back, primary first, in HA mode', async () => {
    const h = site();
    const start = await h.call(COORDINATOR, 'POST', '/api/cluster/switch-back', { json: {} });
    assert.equal(start.status, 202, JSON.stringify(start.json));
    const r = await waitRollout(h, 120_000);
    assert.equal(r.state, 'succeeded', JSON.stringify(r.members));
    for (const m of h.members) assert.equal(bootedVersion(await status(h, m.name)), '1.0.0', m.name);
  });
});
}

function downIntervals(events: { time: number; kind: string }[]): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let from: number | null = null;
  for (const e of events) {
    if (e.kind === 'down' && from === null) from = e.time;
    if (e.kind === 'up' && from !== null) {
      out.push({ from, to: e.time });
      from = null;
    }
  }
  return out;
}
