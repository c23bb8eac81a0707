// MemberClient over a member's `abu serve` HTTP API, presenting this member's site token on every call.
import * as http from 'node:http';
import * as https from 'node:https';
import { AbuError, ERROR_CODES, type AbuErrorCode } from '../core/errors';
import type { ProgressEvent } from '../core/progress';
import type { ActivateResult, ApplianceStatus, HistoryEntry, InstallResult } from '../facade';
import type { MemberClient, PullResult, ReplicaFetch, ReplicaState } from './member-client';
import { watchMemberProgress } from './member-progress';
import { receiveFetch } from './replica-fetch-response';
import type { SiteMember } from './site';

/** Short calls (status, replica state) give up quickly so a down member is noticed; long ones wait for the member. */
const SHORT_TIMEOUT_MS = 10_000;
/** Idle limit for long calls (install, pull): a member that sends nothing this long is treated as gone. */
const LONG_IDLE_MS = 15 * 60_000;
/** Idle limit of a fetch: a source waits quietly only while its own source stalls or while it verifies. */
const FETCH_IDLE_MS = 120_000;

export class HttpMemberClient implements MemberClient {
  constructor(readonly member: SiteMember, private readonly token: string) {}

  status(): Promise<ApplianceStatus> {
    return this.call('GET', '/api/status');
  }

  watchProgress(onProgress: (e: ProgressEvent) => void): { ready: Promise<void>; stop(): void } {
    return watchMemberProgress(this.member.url, onProgress);
  }

  async history(limit = 200): Promise<HistoryEntry[]> {
    return (await this.call<{ entries: HistoryEntry[] }>('GET', `/api/history?limit=${limit}`)).entries;
  }

  replica(sha256: string): Promise<ReplicaState> {
    return this.call('GET', `/api/site/peer/replicas/${sha256}`);
  }

  fetchReplica(sha256: string, offset: number): Promise<ReplicaFetch> {
    const url = new URL(`/api/site/peer/replicas/${sha256}/content`, this.member.url);
    const headers = { authorization: `Bearer ${this.token}`, range: `bytes=${offset}-` };
    return new Promise<ReplicaFetch>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(url, { method: 'GET', headers, timeout: FETCH_IDLE_MS }, (res) => {
        if (res.statusCode === 206) return resolve(receiveFetch(res, offset, (e) => this.unreachable(e)));
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => this.settle(res.statusCode ?? 0, Buffer.concat(parts).toString('utf8'), resolve, reject));
        res.on('error', (e) => reject(this.unreachable(e)));
      });
      req.on('timeout', () => req.destroy(new Error(`nothing received within ${FETCH_IDLE_MS / 1000} s`)));
      req.on('error', (e) => reject(this.unreachable(e)));
      req.end();
    });
  }

  pullReplica(sha256: string, size: number): Promise<PullResult> {
    return this.call('POST', `/api/site/peer/replicas/${sha256}/pull`, { json: { size }, timeoutMs: LONG_IDLE_MS });
  }

  async removeReplica(sha256: string): Promise<void> {
    await this.call('DELETE', `/api/site/peer/replicas/${sha256}`);
  }

  installReplica(sha256: string, options: { activate: boolean; acceptIrreversible?: boolean }): Promise<InstallResult> {
    return this.call('POST', `/api/site/peer/replicas/${sha256}/install`, { json: options, timeoutMs: LONG_IDLE_MS });
  }

  activate(target: string, options: { acceptIrreversible?: boolean } = {}): Promise<ActivateResult> {
    return this.call('POST', '/api/site/peer/activate', { json: { target, ...options } });
  }

  async reboot(): Promise<void> {
    await this.call('POST', '/api/site/peer/reboot', { json: {} });
  }

  private call<T>(method: string, route: string, o: { json?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<T> {
    const url = new URL(route, this.member.url);
    const body = o.json === undefined ? undefined : Buffer.from(JSON.stringify(o.json));
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, ...(o.headers ?? {}) };
    if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': String(body.length) });
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = lib.request(url, { method, headers, timeout: o.timeoutMs ?? SHORT_TIMEOUT_MS }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => this.settle(res.statusCode ?? 0, Buffer.concat(parts).toString('utf8'), resolve, reject));
        res.on('error', (e) => reject(this.unreachable(e)));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round((o.timeoutMs ?? SHORT_TIMEOUT_MS) / 1000)} s`)));
      req.on('error', (e) => reject(this.unreachable(e)));
      req.end(body);
    });
  }

  private settle<T>(status: number, text: string, resolve: (v: T) => void, reject: (e: Error) => void): void {
    let json: any;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      return reject(new AbuError('ABU_ERR_SITE_MEMBER_UNREACHABLE', `member ${this.member.name} answered HTTP ${status} with something that is not JSON`, { details: { member: this.member.name } }));
    }
    if (status >= 200 && status < 300) return resolve(json as T);
    const e = json ?? {};
    const code: AbuErrorCode = typeof e.code === 'string' && e.code in ERROR_CODES ? e.code : 'ABU_ERR_INTERNAL';
    reject(new AbuError(code, `${this.member.name}: ${e.message ?? `HTTP ${status}`}`, { details: { ...(e.details ?? {}), member: this.member.name, status } }));
  }

  private unreachable(e: Error): AbuError {
    return new AbuError('ABU_ERR_SITE_MEMBER_UNREACHABLE', `member ${this.member.name} (${this.member.url}) did not answer: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e, details: { member: this.member.name } });
  }
}
