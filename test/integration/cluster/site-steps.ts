// Test steps over the site harness: upload, replication polling, rollout polling, and down intervals from members' own logs.
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { HistoryEntry } from '../../../engine/facade';
import type { SiteHarness } from './site-harness';

export const COORDINATOR = 'dc1-a';

export async function upload(h: SiteHarness, file: string) {
  return h.call(COORDINATOR, 'POST', '/api/site/bundles', { body: await fs.readFile(file) });
}

/**
 * Uploads `bytes` to the coordinator announcing their SHA-256, in two parts: the first `firstPart` bytes (the
 * head and more), then, once `between` resolves (the test saw what it waits for while the upload was unfinished),
 * the rest. The coordinator's answer comes after the whole body, so it cannot be what `between` waited for.
 */
export async function uploadInTwo(h: SiteHarness, bytes: Buffer, sha256: string, firstPart: number, between: () => Promise<void>): Promise<{ status: number; json: any }> {
  const m = h.member(COORDINATOR);
  const ep = m.proc.endpoint;
  const target = ep.socketPath ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port };
  const headers = { authorization: `Bearer ${m.operatorToken}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length), 'x-abu-bundle-sha256': sha256 };
  return new Promise((resolve, reject) => {
    const req = http.request({ ...target, path: '/api/site/bundles', method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(bytes.subarray(0, firstPart));
    between().then(() => req.end(bytes.subarray(firstPart)), (e) => (req.destroy(), reject(e)));
  });
}

/** Polls until every named member's own record of bundle `sha` passes `check` (partial or verified, bytes held). */
export async function waitHeld(h: SiteHarness, names: string[], sha: string, check: (held: any) => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const held = await Promise.all(names.map(async (n) => (await h.call(n, 'GET', `/api/site/peer/replicas/${sha}`)).json));
    if (held.every(check)) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(held.map((x, i) => [names[i], x.state, x.have]))}`);
    await sleep(100);
  }
}

export async function replication(h: SiteHarness, sha: string): Promise<any> {
  const r = await h.call(COORDINATOR, 'GET', `/api/site/bundles/${sha}`);
  if (r.status !== 200) throw new Error(`bundle ${sha}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.replication;
}

/** Polls until `check` accepts the bundle's replication record. */
export async function waitReplication(h: SiteHarness, sha: string, check: (rep: any) => boolean, timeoutMs: number, what: string): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const rep = await replication(h, sha);
    if (check(rep)) return rep;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(rep.members.map((m: any) => [m.member, m.state, m.have, m.error]))}`);
    await sleep(100);
  }
}

export function memberRecord(rep: any, name: string): any {
  return rep.members.find((m: any) => m.member === name);
}

/** Polls the coordinator (which may itself be rebooting) until the rollout ends. */
export async function waitRollout(h: SiteHarness, timeoutMs: number, during?: (r: any) => Promise<void>): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await h.call(COORDINATOR, 'GET', '/api/cluster/rollout').catch(() => null);
    const rollout = r?.status === 200 ? r.json.rollout : null;
    if (rollout && during) await during(rollout);
    if (rollout && rollout.state !== 'running' && rollout.state !== 'stopping') return rollout;
    if (Date.now() > end) throw new Error(`rollout did not end in ${timeoutMs} ms: ${JSON.stringify(rollout?.members)}`);
    await sleep(200);
  }
}

export async function history(h: SiteHarness, name: string): Promise<HistoryEntry[]> {
  const r = await h.call(name, 'GET', '/api/history?limit=500');
  return r.json.entries;
}

export async function status(h: SiteHarness, name: string): Promise<any> {
  return (await h.call(name, 'GET', '/api/status')).json;
}

export function bootedVersion(s: any): string | null {
  return s.slots.find((x: any) => x.name === s.booted)?.version ?? null;
}

/**
 * When a member was away for a rollout, by its own history: from the activation it recorded before rebooting to
 * the confirmation (or rollback) boot-check recorded after. The daemon is down only inside this interval.
 */
export function awayIntervals(entries: HistoryEntry[], since: string): { from: number; to: number }[] {
  const sorted = entries.filter((e) => e.time >= since).sort((a, b) => a.time.localeCompare(b.time));
  const out: { from: number; to: number }[] = [];
  let from: number | null = null;
  for (const e of sorted) {
    if (e.kind === 'activate') from = Date.parse(e.time);
    else if ((e.kind === 'mark-good' || e.kind === 'rollback') && from !== null) {
      out.push({ from, to: Date.parse(e.time) });
      from = null;
    }
  }
  if (from !== null) out.push({ from, to: Number.MAX_SAFE_INTEGER });
  return out;
}

export function overlaps(a: { from: number; to: number }[], b: { from: number; to: number }[]): boolean {
  return a.some((x) => b.some((y) => x.from < y.to && y.from < x.to));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Every rollout the coordinator journals, as its SSE stream (/api/cluster/events) sends them: one event per change,
 * so a phase held only briefly is still seen. The stream ends when the coordinator goes down (its own reboot).
 */
export function watchRollout(h: SiteHarness): { events: any[]; stop(): void } {
  const ep = h.member(COORDINATOR).proc.endpoint;
  const target = ep.socketPath ? { socketPath: ep.socketPath } : { host: ep.host, port: ep.port };
  const events: any[] = [];
  let text = '';
  const req = http.request({ ...target, path: '/api/cluster/events', method: 'GET' }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (piece: string) => {
      text += piece;
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const data = /^data: (.*)$/m.exec(text.slice(0, end));
        text = text.slice(end + 2);
        if (data) events.push(JSON.parse(data[1]));
      }
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  req.end();
  return { events, stop: () => req.destroy() };
}
