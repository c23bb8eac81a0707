// Steps of the cluster system test: boot the three guests, upload and replicate at the primary, run the rollout, check the result.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { BOOT_TIMEOUT_MS } from './appliance';
import { downIntervals, lineTime, overlaps, type ClusterGuest } from './cluster-guests';
import { send, waitForService } from './http-guest-abu';

/** TCG on a shared 2-core host: three guests boot, receive, install and reboot at once. */
export const STEP_TIMEOUT_MS = 10 * 60_000;

/** One call to a guest's abu through its hostfwd port; a non-2xx answer fails with the body. */
export async function call(g: ClusterGuest, method: string, route: string, body?: Buffer | fs.ReadStream, type?: string): Promise<any> {
  const r = await send(g.app, method, route, body, type);
  if (r.status < 200 || r.status > 299) throw new Error(`${g.name} ${method} ${route}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Polls `probe` every second until it returns non-null; errors count as "not yet" (the primary itself reboots). */
export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${String(last)}`);
    await delay(1000);
  }
}

/** Boots all three at once; each must come up on 1.0.0 with its site address and answer over HTTP. */
export async function bootCluster(guests: ClusterGuest[], netdevArgs: (g: ClusterGuest) => string[]): Promise<void> {
  await Promise.all(guests.map((g) => g.app.boot('cluster', [g.siteDisk], netdevArgs(g))));
  for (const g of guests) {
    assert.deepEqual(await g.app.waitBooted(BOOT_TIMEOUT_MS * 3), { slot: 'A', version: '1.0.0' }, g.name);
    await g.app.running().waitForLine(new RegExp(`^INIT: site disk .* address=${g.address.replace(/\./g, '\\.')}/24`), BOOT_TIMEOUT_MS);
    await waitForService(g.app, BOOT_TIMEOUT_MS * 3);
  }
}

/** Uploads at the primary and waits for Replications 3/3; returns the bundle's record and the replication. */
export async function uploadAndReplicate(primary: ClusterGuest, bundle: string): Promise<{ bundle: { sha256: string; size: number }; replication: any }> {
  const up = await call(primary, 'POST', '/api/site/bundles', fs.createReadStream(bundle), 'application/octet-stream');
  const replication = await until('replication 3/3', STEP_TIMEOUT_MS, async () => {
    const r = (await call(primary, 'GET', `/api/site/bundles/${up.bundle.sha256}`)).replication;
    if (r.members.some((m: any) => m.state === 'failed')) throw new Error(`replication failed: ${JSON.stringify(r.members)}`);
    return r.replications === '3/3' ? r : null;
  });
  return { bundle: up.bundle, replication };
}

/** Each node fetched its bytes from the primary over the site network, and verified and holds them itself. */
export async function assertPulledFromPrimary(nodes: ClusterGuest[], bundle: { sha256: string; size: number }, replication: any): Promise<void> {
  for (const n of nodes) {
    const m = replication.members.find((x: any) => x.member === n.name);
    assert.deepEqual([n.name, m.via, m.state, m.have], [n.name, 'primary', 'verified', bundle.size]);
    assert.ok(m.bytesSent >= bundle.size, `${n.name}: it fetched the whole bundle from the primary (${m.bytesSent} bytes)`);
    const held = await call(n, 'GET', '/api/site/peer/replicas');
    const own = held.replicas.find((r: any) => r.sha256 === bundle.sha256);
    // receivingSince: the node's own record of when the first fetched byte arrived (an upload has none).
    assert.ok(own && own.receivingSince && own.storedAt >= own.receivingSince, `${n.name} received and verified the replica itself: ${JSON.stringify(held)}`);
  }
}

/** "Activate alternate image" at the primary (HA mode, the default with an HA group) and its end as the primary reports it. */
export async function runRollout(primary: ClusterGuest, sha256: string): Promise<any> {
  const begin = await call(primary, 'POST', '/api/cluster/activate', Buffer.from(JSON.stringify({ bundle: sha256 })), 'application/json');
  assert.equal(begin.rollout.ha, true);
  assert.deepEqual(begin.rollout.order, ['primary', 'node-a', 'node-b']);
  return until('the rollout to end', STEP_TIMEOUT_MS * 2, async () => {
    const r = (await call(primary, 'GET', '/api/cluster/rollout')).rollout;
    return r && r.state !== 'running' && r.state !== 'stopping' ? r : null;
  });
}

/** Booted from B on 1.1.0, confirmed by its own boot-check, nothing pending; its history has the install and the confirmation. */
export async function assertOnNewVersion(guests: ClusterGuest[]): Promise<void> {
  for (const g of guests) {
    const s = await waitForService(g.app);
    const booted = s.slots.find((x) => x.name === s.booted)!;
    assert.deepEqual([g.name, s.booted, booted.version, booted.state, s.pending], [g.name, 'B', '1.1.0', 'good', null]);
    const kinds = (await call(g, 'GET', '/api/history?limit=100')).entries.map((e: any) => `${e.kind} ${e.slot}`);
    assert.ok(kinds.includes('install B') && kinds.includes('mark-good B'), `${g.name} installed and confirmed B: ${kinds.join(', ')}`);
  }
}

/**
 * From the serial consoles' timestamps: each guest went down exactly once, the primary was back and its boot-check
 * had confirmed 1.1.0 before either node went down, and the HA partners were never down at the same time.
 */
export function assertRebootOrder(guests: ClusterGuest[]): void {
  const consoles = new Map(guests.map((g) => [g.name, g.app.running().console] as const));
  const down = new Map([...consoles].map(([name, c]) => [name, downIntervals(c.lines, c.times)] as const));
  for (const g of guests) assert.equal(down.get(g.name)!.length, 1, `${g.name} rebooted once: ${JSON.stringify(down.get(g.name))}`);
  const p = consoles.get('primary')!;
  const confirmed = lineTime(p.lines, p.times, /^BOOT-CHECK rc=0/, down.get('primary')![0].from);
  assert.ok(confirmed !== null, 'the primary\'s boot-check confirmed 1.1.0');
  for (const name of ['node-a', 'node-b']) {
    const from = down.get(name)![0].from;
    assert.ok(from > confirmed, `${name} went down (${new Date(from).toISOString()}) after the primary was confirmed (${new Date(confirmed).toISOString()})`);
  }
  assert.equal(overlaps(down.get('node-a')!, down.get('node-b')!), false, `the HA partners were down together: ${JSON.stringify([...down])}`);
}
