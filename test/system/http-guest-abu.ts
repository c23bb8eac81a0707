// The HTTP way to the guest's abu: its service through QEMU's hostfwd on 127.0.0.1, as an operator's tool would.
import * as fs from 'node:fs';
import * as http from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { ApplianceStatus, HistoryEntry } from '../../engine/facade';
import type { GuestAbu, GuestAnswer, GuestInstallOptions } from './guest-abu';
import type { Appliance } from './appliance';

/** The token in images/guest/abu-*.json: a test appliance's, known to the tests on purpose. */
export const GUEST_TOKEN = 'abu-system-test-token-not-secret';

export function send(app: Appliance, method: string, path: string, body?: Buffer | fs.ReadStream, contentType?: string): Promise<GuestAnswer> {
  const port = app.running().hostPort;
  if (port === null) throw new Error('the appliance runs without networking');
  const headers: Record<string, string | number> = { authorization: `Bearer ${GUEST_TOKEN}` };
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (body instanceof fs.ReadStream) headers['content-length'] = fs.statSync(body.path as string).size;
  else if (body !== undefined) headers['content-length'] = body.length;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON: keep the text for the assertion message */ }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    if (body instanceof fs.ReadStream) body.pipe(req);
    else req.end(body);
  });
}

/** Fails with the service's answer when it is not a 2xx: the message then says what abu refused. */
async function ok(response: Promise<GuestAnswer>, what: string): Promise<any> {
  const r = await response;
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** Polls /api/status until the service answers (node's cold start in the guest takes a few seconds). */
export async function waitForService(app: Appliance, timeoutMs = 60_000): Promise<ApplianceStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const r = await send(app, 'GET', '/api/status');
      if (r.status === 200) return r.body as ApplianceStatus;
      last = r.body;
    } catch (e) {
      last = e;
    }
    await delay(500);
  }
  throw new Error(`abu's service in the guest did not answer within ${timeoutMs} ms: ${String(last)}`);
}

export class HttpGuestAbu implements GuestAbu {
  readonly via = 'http';
  readonly disks: string[] = [];
  constructor(private readonly app: Appliance) {}
  ready(): Promise<ApplianceStatus> { return waitForService(this.app); }
  status(): Promise<ApplianceStatus> { return ok(send(this.app, 'GET', '/api/status'), 'status'); }
  async history(): Promise<HistoryEntry[]> { return (await ok(send(this.app, 'GET', '/api/history'), 'history')).entries; }
  /** Streams the bundle file as the request body; answers once abu has verified, written and activated it. */
  install(bundle: string, options: GuestInstallOptions = {}): Promise<GuestAnswer> {
    const params = new URLSearchParams();
    if (options.activate === false) params.set('activate', 'false');
    if (options.acceptIrreversible) params.set('acceptIrreversible', 'true');
    if (options.adaptive === false) params.set('adaptive', 'false');
    const query = params.size ? `?${params}` : '';
    return send(this.app, 'POST', `/api/install${query}`, fs.createReadStream(bundle), 'application/octet-stream');
  }
  activate(target: string): Promise<GuestAnswer> {
    return send(this.app, 'POST', '/api/activate', Buffer.from(JSON.stringify(target === 'other' ? {} : { slot: target })), 'application/json');
  }
  async reboot(): Promise<void> { await ok(send(this.app, 'POST', '/api/reboot', Buffer.from('{}'), 'application/json'), 'reboot'); }
}
