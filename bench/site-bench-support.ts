// Helpers for the site benchmarks: HTTP calls to a member's API, peak RSS of a process, percentiles, env knobs.
import { createReadStream, promises as fs } from 'node:fs';
import * as http from 'node:http';

export const MIB = 1024 * 1024;

/** A comma-separated list of numbers from the environment, or the default. */
export function knob(name: string, fallback: number[]): number[] {
  const v = process.env[name];
  return v ? v.split(',').map(Number).filter((n) => Number.isFinite(n) && n > 0) : fallback;
}

export interface Api {
  url: string;
  token: string;
}

/** JSON request; rejects on a status outside 2xx. */
export function call<T = any>(api: Api, method: string, route: string, json?: unknown): Promise<T> {
  const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  const headers: Record<string, string> = { authorization: `Bearer ${api.token}` };
  if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(body.length) });
  return send(api.url + route, method, headers, (req) => req.end(body));
}

/** Streams a file as the body (an upload). */
/** `sha256`: announced (X-Abu-Bundle-Sha256) so members pull while the upload still arrives. */
export async function upload<T = any>(api: Api, route: string, file: string, sha256?: string): Promise<T> {
  const size = (await fs.stat(file)).size;
  const headers: Record<string, string> = { authorization: `Bearer ${api.token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) };
  if (sha256 && process.env.ABU_BENCH_SITE_ANNOUNCE !== '0') headers['x-abu-bundle-sha256'] = sha256;
  return send(api.url + route, 'POST', headers, (req) => createReadStream(file).pipe(req));
}

function send<T>(url: string, method: string, headers: Record<string, string>, write: (req: http.ClientRequest) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        if ((res.statusCode ?? 0) >= 300) return reject(new Error(`${method} ${url}: HTTP ${res.statusCode} ${text.slice(0, 300)}`));
        resolve(text ? JSON.parse(text) : {});
      });
    });
    req.on('error', reject);
    write(req);
  });
}

/** Peak resident memory (VmHWM) of a process in MiB. */
export async function peakRssMiB(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Resets the peak (clear_refs 5), so the next VmHWM is the peak of what follows. */
export async function resetPeakRss(pid: number): Promise<void> {
  await fs.writeFile(`/proc/${pid}/clear_refs`, '5');
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls the coordinator until every member verified its replica; returns the seconds since `t0`. */
export async function waitReplicated(api: Api, sha: string, t0: number, timeoutMs = 600_000, everyMs = 50): Promise<number> {
  for (;;) {
    const r = await call(api, 'GET', `/api/site/bundles/${sha}`);
    const rep = r.replication;
    if (rep && rep.verified === rep.total) return (performance.now() - t0) / 1000;
    const failed = rep?.members.find((m: any) => m.state === 'failed');
    if (failed) throw new Error(`replication to ${failed.member} failed: ${failed.error}`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`replication did not finish: ${rep?.replications}`);
    await sleep(everyMs);
  }
}
