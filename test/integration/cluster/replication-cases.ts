// Sites, part 1 (product-docs/001): member tokens, upload checks, replication n/m with resume and receiver-side
// verification, removal, install by organization and data center. Six real `abu serve` daemons on simulated
// appliances in two data centers (network namespaces when root, else loopback ports: the test says which).
// The rollout cases (rollout-cases.ts) run on the same daemons afterwards (cluster.test.ts sets the order).
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createBundle } from '../../../engine/bundle/bundle-writer';
import { digestFile } from '../../../engine/cluster/replica-verify';
import { sharedSite } from './shared-site';
import { COORDINATOR, memberRecord, replication, status, upload, uploadInTwo, waitHeld, waitReplication } from './site-steps';

export function replicationCases(): void {
describe('site: replication and install by organization (six abu serve daemons, two data centers)', function () {
  this.timeout(120_000);
  const site = sharedSite();

  it('refuses member-to-member commands that do not carry the coordinator\'s token', async () => {
    const h = site();
    const sha = 'ab'.repeat(32);
    const body = Buffer.alloc(10);
    const headers = { 'content-range': 'bytes 0-9/10' };
    const fromPeer = await h.call('dc2-b', 'PUT', `/api/site/peer/replicas/${sha}`, { body, headers, token: h.member('dc2-c').siteToken });
    assert.equal(fromPeer.status, 401);
    assert.equal(fromPeer.json.code, 'ABU_ERR_UNAUTHORIZED');
    assert.match(fromPeer.json.message, /for dc2-c: site commands are taken only from the coordinator dc1-a/);
    const unknown = await h.call('dc2-b', 'POST', '/api/site/peer/reboot', { json: {}, token: 'x'.repeat(24) });
    assert.equal(unknown.status, 401);
    assert.match(unknown.json.message, /no site member's token/);
    // The member's own operator token is not a site credential, and a data center's primary may not reboot its members.
    assert.equal((await h.call('dc2-b', 'POST', '/api/site/peer/reboot', { json: {} })).status, 401);
    assert.equal((await h.call('dc2-b', 'POST', '/api/site/peer/reboot', { json: {}, token: h.member('dc2-a').siteToken })).status, 401);
    assert.equal(h.member('dc2-b').proc.reboots, 0);
    // A replica is served only to the members the server is the source of; a pull is asked only by the coordinator.
    const fetchOther = await h.call('dc2-a', 'GET', `/api/site/peer/replicas/${sha}/content`, { token: h.member('dc1-b').siteToken });
    assert.deepEqual([fetchOther.status, fetchOther.json.code], [401, 'ABU_ERR_UNAUTHORIZED']);
    assert.match(fetchOther.json.message, /refuses to serve a replica for dc1-b: a member fetches only from its own source/);
    const pullByPeer = await h.call('dc2-b', 'POST', `/api/site/peer/replicas/${sha}/pull`, { json: { size: 10 }, token: h.member('dc2-a').siteToken });
    assert.deepEqual([pullByPeer.status, pullByPeer.json.code], [401, 'ABU_ERR_UNAUTHORIZED']);
    const ok = await h.call('dc2-b', 'DELETE', `/api/site/peer/replicas/${sha}`, { token: h.member(COORDINATOR).siteToken });
    assert.deepEqual([ok.status, ok.json], [200, { removed: false }]);
    const notCoordinator = await h.call('dc2-a', 'POST', '/api/site/bundles', { body: await fs.readFile(h.bundles.v110) });
    assert.equal(notCoordinator.json.code, 'ABU_ERR_SITE_NOT_COORDINATOR');
  });

  it('checks an upload before storing it: abu bundle, signed by the site keyring, for this product', async () => {
    const h = site();
    const garbage = await h.call(COORDINATOR, 'POST', '/api/site/bundles', { body: Buffer.alloc(8192, 'not a bundle ') });
    assert.equal(garbage.json.code, 'ABU_ERR_BUNDLE_MAGIC');
    assert.equal((await upload(h, h.foreignBundle)).json.code, 'ABU_ERR_KEY_UNKNOWN');
    const other = path.join(h.dir, 'other-product.abu');
    const key = createPrivateKey(await fs.readFile(h.member(COORDINATOR).sim.privateKeyPath));
    await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: path.join(h.member(COORDINATOR).sim.dir, 'images', 'rootfs-1.1.0.img') }], product: 'another-product', version: '9.0.0', buildTime: 1, keys: [key] }, other);
    assert.equal((await upload(h, other)).json.code, 'ABU_ERR_INCOMPATIBLE');
    assert.deepEqual((await h.call(COORDINATOR, 'GET', '/api/site/bundles')).json.bundles, []);
  });

  it('a receiver checks every replica itself: a corrupted one is rejected, whatever the sender claims', async () => {
    const h = site();
    const bytes = await fs.readFile(h.bundles.v120);
    const sha = (await digestFile(h.bundles.v120)).sha256;
    const bad = Buffer.from(bytes);
    bad[bad.length - 5000] ^= 0x40;
    const asSent = { token: h.member(COORDINATOR).siteToken, headers: { 'content-range': `bytes 0-${bad.length - 1}/${bad.length}` } };
    const lie = await h.call('dc2-b', 'PUT', `/api/site/peer/replicas/${sha}`, { body: bad, ...asSent });
    assert.deepEqual([lie.status, lie.json.code], [422, 'ABU_ERR_SITE_REPLICA_DIGEST']);
    // Even bytes that hash to the id they are sent under must pass the signed chunk digests.
    const badSha = (await fs.writeFile(path.join(h.dir, 'bad.abu'), bad), await digestFile(path.join(h.dir, 'bad.abu'))).sha256;
    const chunk = await h.call('dc2-b', 'PUT', `/api/site/peer/replicas/${badSha}`, { body: bad, ...asSent });
    assert.equal(chunk.json.code, 'ABU_ERR_CHUNK_CRC');
    for (const id of [sha, badSha]) assert.equal((await h.call('dc2-b', 'GET', `/api/site/peer/replicas/${id}`)).json.state, 'absent');
  });

  it('replicates to 6/6; a replica corrupted on disk mid-transfer is rejected by its member and sent again from zero', async () => {
    const h = site();
    const linkBefore = await h.net.linkStats();
    const up = await upload(h, h.bundles.v120);
    assert.equal(up.status, 201, JSON.stringify(up.json));
    const { sha256: sha, size } = up.json.bundle;
    await waitReplication(h, sha, (r) => memberRecord(r, 'dc1-c').have > size * 0.3, 30_000, 'dc1-c to hold 30 %');
    const victim = h.member('dc1-c');
    await victim.proc.kill('SIGKILL');
    const part = path.join(victim.sim.dir, 'state', 'bundles', `${sha}.part`);
    const fh = await fs.open(part, 'r+');
    await fh.write(Buffer.from([0xff, 0x00, 0xff]), 0, 3, 8192);
    await fh.close();
    await victim.proc.start();
    const rep = await waitReplication(h, sha, (r) => r.verified === 6, 60_000, '6/6');
    assert.equal(rep.replications, '6/6');
    const starts: number[] = memberRecord(rep, 'dc1-c').startedAt;
    const resumedAt = starts.findIndex((s) => s > 0);
    assert.ok(resumedAt >= 0 && starts.slice(resumedAt + 1).includes(0), `dc1-c resumed, was rejected, then started over: ${starts}`);
    assert.equal((await digestFile(path.join(victim.sim.dir, 'state', 'bundles', `${sha}.abu`))).sha256, sha);
    // In namespaces, dc2 got its copy across the delayed, lossy link (link.test.ts proves what that link does).
    const linkAfter = await h.net.linkStats();
    if (linkBefore && linkAfter) assert.ok(linkAfter.dropped > linkBefore.dropped, `the link dropped none of the ${linkAfter.received - linkBefore.received} packets of the replication`);
  });

  it('a data center\'s members pull from its primary while the primary still receives (all hops overlap)', async () => {
    const h = site();
    const sha = (await digestFile(h.bundles.v120)).sha256;
    const rep = await replication(h, sha);
    const held = async (name: string) => (await h.call(name, 'GET', '/api/site/peer/replicas')).json.replicas.find((r: any) => r.sha256 === sha);
    const primary = await held('dc2-a');
    assert.equal(memberRecord(rep, 'dc2-a').via, COORDINATOR);
    for (const name of ['dc2-b', 'dc2-c']) {
      assert.equal(memberRecord(rep, name).via, 'dc2-a');
      // By the members' own records: the first byte reached the node before its source had verified (or even
      // finished receiving) its own copy. Store-and-forward could never give this order.
      const node = await held(name);
      assert.ok(node.receivingSince < primary.storedAt, `${name} began receiving at ${node.receivingSince}, dc2-a verified at ${primary.storedAt}`);
      assert.ok(node.storedAt >= node.receivingSince);
    }
  });

  it('install by organization: every member installs under its own version policy, refusals named', async () => {
    const h = site();
    const r = await h.call(COORDINATOR, 'POST', '/api/site/install', { json: { bundle: '1.2.0', organizations: ['acme'], activate: false } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    // 1.2.0 installs only over 1.1.0: each member's strict chain says it must get 1.1.0 first.
    assert.deepEqual(r.json.refused.map((x: any) => [x.member, x.code]), ['dc1-a', 'dc1-b', 'dc2-a', 'dc2-b'].map((m) => [m, 'ABU_ERR_MISSING_VERSIONS']));
    assert.match(r.json.refused[0].message, /^dc1-a: .*1\.1\.0/);
    assert.deepEqual(r.json.installed, []);
  });

  it('removing a bundle removes its replicas from every member', async () => {
    const h = site();
    const sha = (await digestFile(h.bundles.v120)).sha256;
    const r = await h.call(COORDINATOR, 'DELETE', `/api/site/bundles/${sha}`);
    assert.deepEqual(r.json.removed, ['dc1-a', 'dc1-b', 'dc1-c', 'dc2-a', 'dc2-b', 'dc2-c']);
    for (const m of h.members) assert.equal((await h.call(m.name, 'GET', `/api/site/peer/replicas/${sha}`)).json.state, 'absent', m.name);
  });

  it('members pull an upload once its head is checked, before the coordinator has all of it', async () => {
    const h = site();
    const bytes = await fs.readFile(h.bundles.v120);
    const sha = (await digestFile(h.bundles.v120)).sha256;
    const others = h.members.map((m) => m.name).filter((n) => n !== COORDINATOR);
    // The rest of the upload is sent only once every member holds bytes of it: a coordinator that stored and
    // verified the upload before asking its members to pull would never let this wait end.
    const up = await uploadInTwo(h, bytes, sha, Math.floor(bytes.length * 0.4), () => waitHeld(h, others, sha, (r) => r.have > 0, 60_000, 'every member to hold bytes of the unfinished upload'));
    assert.equal(up.status, 201, JSON.stringify(up.json));
    assert.equal(up.json.bundle.sha256, sha);
    await waitReplication(h, sha, (r) => r.verified === 6, 60_000, '6/6');
    for (const name of others) {
      const held = (await h.call(name, 'GET', '/api/site/peer/replicas')).json.replicas.find((r: any) => r.sha256 === sha);
      // By the member's own record against the coordinator's: it began receiving before the upload was stored.
      assert.ok(held.receivingSince < up.json.bundle.storedAt, `${name} began receiving at ${held.receivingSince}, the coordinator stored the upload at ${up.json.bundle.storedAt}`);
    }
    assert.deepEqual((await h.call(COORDINATOR, 'DELETE', `/api/site/bundles/${sha}`)).json.failed, []);
  });

  it('an upload whose late chunk is corrupt (signature fine) is refused, and every member drops what it pulled', async () => {
    const h = site();
    const bad = Buffer.from(await fs.readFile(h.bundles.v120));
    bad[bad.length - 5000] ^= 0x40;
    const file = path.join(h.dir, 'late-chunk-bad.abu');
    await fs.writeFile(file, bad);
    const sha = (await digestFile(file)).sha256;
    const others = h.members.map((m) => m.name).filter((n) => n !== COORDINATOR);
    const up = await uploadInTwo(h, bad, sha, Math.floor(bad.length * 0.4), () => waitHeld(h, others, sha, (r) => r.have > 0, 60_000, 'every member pulling the unfinished upload'));
    assert.deepEqual([up.status, up.json.code], [422, 'ABU_ERR_CHUNK_CRC'], JSON.stringify(up.json));
    // Every member discards on the coordinator's verdict (or fails its own check): nothing held, partial or whole.
    await waitHeld(h, h.members.map((m) => m.name), sha, (r) => r.state === 'absent', 90_000, 'no member to hold any of the refused upload');
    assert.deepEqual((await h.call(COORDINATOR, 'GET', '/api/site/bundles')).json.bundles, []);
    assert.equal((await h.call(COORDINATOR, 'GET', `/api/site/bundles/${sha}`)).json.code, 'ABU_ERR_SITE_BUNDLE_UNKNOWN');
  });

  it('a source whose own replica fails its verification makes its pullers discard what they fetched and fetch again', async () => {
    const h = site();
    const up = await upload(h, h.bundles.v120);
    const { sha256: sha, size } = up.json.bundle;
    const pullers = ['dc2-b', 'dc2-c'];
    await waitReplication(h, sha, (r) => memberRecord(r, 'dc2-a').have > size * 0.3 && pullers.every((n) => memberRecord(r, n).have > 0), 30_000, 'dc2-a at 30 %, its members fetching');
    // Corrupt bytes the source holds already (its members fetched them intact): only the source's own
    // verification fails, and its members must drop their copies on its word, not keep them.
    const fh = await fs.open(path.join(h.member('dc2-a').sim.dir, 'state', 'bundles', `${sha}.part`), 'r+');
    await fh.write(Buffer.from([0xff, 0x00, 0xff]), 0, 3, 8192);
    await fh.close();
    const errors = new Map(['dc2-a', ...pullers].map((n) => [n, new Set<string>()]));
    const rep = await waitReplication(h, sha, (r) => {
      for (const [name, seen] of errors) if (memberRecord(r, name).error) seen.add(memberRecord(r, name).error);
      return r.verified === 6;
    }, 60_000, '6/6 after the source failed');
    const seen = (n: string) => [...errors.get(n)!].join(' | ');
    assert.match(seen('dc2-a'), /chunk 0 .* has CRC32 [0-9a-f]+, the manifest says/, `dc2-a's own verification failed: ${seen('dc2-a')}`);
    for (const n of pullers) {
      assert.match(seen(n), /discarded its replica/, `${n} was told its source discarded its copy`);
      assert.equal(memberRecord(rep, n).startedAt.at(-1), 0, `${n} fetched again from zero`);
    }
    for (const n of ['dc2-a', ...pullers]) assert.equal((await digestFile(path.join(h.member(n).sim.dir, 'state', 'bundles', `${sha}.abu`))).sha256, sha, n);
    assert.deepEqual((await h.call(COORDINATOR, 'DELETE', `/api/site/bundles/${sha}`)).json.failed, []);
  });

  it('a member killed mid-transfer resumes from the bytes it holds, not from zero', async () => {
    const h = site();
    await h.member('dc2-c').proc.kill('SIGKILL'); // stays down until the install case below
    const up = await upload(h, h.bundles.v110);
    const { sha256: sha, size } = up.json.bundle;
    await waitReplication(h, sha, (r) => memberRecord(r, 'dc2-a').have > size * 0.3, 30_000, 'dc2-a to hold 30 %');
    await h.member('dc2-a').proc.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 800));
    await h.member('dc2-a').proc.start();
    const rep = await waitReplication(h, sha, (r) => r.members.filter((m: any) => m.state === 'verified').length === 5, 60_000, '5/6');
    const rec = memberRecord(rep, 'dc2-a');
    assert.equal(rec.startedAt[0], 0);
    const resumed = rec.startedAt[rec.startedAt.length - 1];
    assert.ok(resumed > size * 0.25, `dc2-a resumed at ${resumed} of ${size}`);
    assert.ok(rec.bytesSent < size * 1.5, `bytes sent to dc2-a: ${rec.bytesSent} for a ${size}-byte bundle`);
    assert.equal(memberRecord(rep, 'dc2-c').state === 'verified', false);
  });

  it('install by organization and data center: the incomplete replica is skipped with a warning naming it', async () => {
    const h = site();
    const orgs = (await h.call(COORDINATOR, 'GET', '/api/site/bundles/1.1.0/organizations')).json;
    assert.deepEqual(orgs.organizations.map((o: any) => [o.name, o.pending]), [['acme', ['dc1-a', 'dc1-b', 'dc2-a', 'dc2-b']], ['globex', ['dc1-c', 'dc2-c']]]);
    const globex = (await h.call(COORDINATOR, 'POST', '/api/site/install', { json: { bundle: '1.1.0', organizations: ['globex'], dataCenter: 'all', activate: false } })).json;
    assert.deepEqual(globex.installed.map((x: any) => x.member), ['dc1-c']);
    assert.deepEqual(globex.skipped.map((x: any) => x.member), ['dc2-c']);
    assert.match(globex.warnings.join(' '), /not complete on dc2-c/);
    const acmeDc2 = (await h.call(COORDINATOR, 'POST', '/api/site/install', { json: { bundle: '1.1.0', organizations: ['acme'], dataCenter: 'dc2', activate: false } })).json;
    assert.deepEqual([acmeDc2.installed.map((x: any) => x.member), acmeDc2.skipped, acmeDc2.refused], [['dc2-a', 'dc2-b'], [], []]);
    for (const [name, expected] of [['dc1-c', '1.1.0'], ['dc2-a', '1.1.0'], ['dc1-b', null]] as const) {
      const s = await status(h, name);
      assert.equal(s.slots.find((x: any) => x.name === 'B').version, expected, name);
    }
    await h.member('dc2-c').proc.start();
    const rep = await waitReplication(h, orgs.sha256, (r) => r.verified === 6, 60_000, '6/6 after dc2-c returned');
    assert.equal(rep.replications, '6/6');
  });
});
}
