// The site and cluster commands talk to the coordinator's running `abu serve` (found like every other command's daemon).
import { createReadStream, promises as fs } from 'node:fs';
import { digestFile } from '../../../cluster/replica-verify';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { AbuError, ERROR_CODES, type AbuErrorCode } from '../../../core/errors';
import type { CliContext } from '../command';
import { configPath } from '../cli-support';
import { findDaemon, type DaemonEndpoint } from '../daemon-client';

export class SiteApi {
  constructor(readonly endpoint: DaemonEndpoint) {}

  static async open(values: { config?: string | boolean }, ctx: CliContext): Promise<SiteApi> {
    const daemon = await findDaemon(configPath(values, ctx), ctx.env);
    if (!daemon) throw new AbuError('ABU_ERR_DAEMON', 'no abu serve daemon answers for this config: site and cluster commands go through the coordinator\'s daemon (or set ABU_DAEMON_URL and ABU_TOKEN)');
    return new SiteApi(daemon.endpoint);
  }

  get<T = any>(route: string): Promise<T> {
    return this.request('GET', route, {}, (req) => req.end());
  }

  post<T = any>(route: string, json: unknown): Promise<T> {
    const data = Buffer.from(JSON.stringify(json));
    return this.request('POST', route, { 'content-type': 'application/json', 'content-length': String(data.length) }, (req) => req.end(data));
  }

  /** Announces the file's SHA-256 (one read pass before the upload) so members pull it while it still arrives. */
  async upload<T = any>(route: string, file: string): Promise<T> {
    const { sha256, size } = await digestFile(file);
    const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size), 'x-abu-filename': encodeURIComponent(path.basename(file)), 'x-abu-bundle-sha256': sha256 };
    return this.request('POST', route, headers, (req) => createReadStream(file).on('error', (e) => req.destroy(e)).pipe(req));
  }

  /** GET that waits out a coordinator which is down for a while (it reboots first in a cluster rollout). */
  async poll<T = any>(route: string, timeoutMs = 15 * 60_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await this.get<T>(route);
      } catch (e) {
        if ((e as AbuError).code !== 'ABU_ERR_SITE_MEMBER_UNREACHABLE' || Date.now() > end) throw e;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private request<T>(method: string, route: string, headers: Record<string, string>, send: (req: http.ClientRequest) => void): Promise<T> {
    if (this.endpoint.token) headers.authorization = `Bearer ${this.endpoint.token}`;
    const lib = this.endpoint.url.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(new URL(route, this.endpoint.url), { method, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => {
          let body: any = {};
          try {
            body = JSON.parse(Buffer.concat(parts).toString('utf8'));
          } catch {
            /* reported below */
          }
          if ((res.statusCode ?? 0) < 300) return resolve(body as T);
          const code: AbuErrorCode = body.code in ERROR_CODES ? body.code : 'ABU_ERR_INTERNAL';
          reject(new AbuError(code, body.message ?? `the daemon answered HTTP ${res.statusCode}`, { details: body.details ?? {} }));
        });
      });
      req.on('error', (e) => reject(new AbuError('ABU_ERR_SITE_MEMBER_UNREACHABLE', `the coordinator at ${this.endpoint.url} did not answer: ${e.message}`, { cause: e })));
      send(req);
    });
  }
}
