// Talks to a running `abu serve` daemon: the CLI uses it when one runs, so installs do not race the daemon's engine.
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { AbuError, isAbuError, type AbuErrorCode } from '../../core/errors';
import type { EventSink, LogEvent, ProgressEvent } from '../../core/progress';
import type { ActivateResult, ApplianceStatus, HistoryEntry, InstallOptions, InstallResult } from '../../facade';
import { loadConfig } from '../../config';
import { isProcessAlive } from '../../core/pid';
import { busyError } from '../../state/appliance-lock';

export interface DaemonEndpoint {
  url: string;
  /** Null when this user cannot read the token: reads still work, changes get ABU_ERR_UNAUTHORIZED. */
  token: string | null;
  /** Where the token is kept, for the message when this user cannot read it. */
  tokenFile?: string;
}

/** What the CLI passes on to POST /api/install (query) and /api/install-url (body). */
export type RemoteInstallOptions = Pick<InstallOptions, 'activate' | 'acceptIrreversible' | 'reboot' | 'adaptive'>;

/** A bundle to upload: the stream, its size when known (a file; stdin is sent chunked) and a name for the daemon's log. */
export interface Upload {
  body: Readable;
  size?: number;
  name: string;
}

/**
 * Finds the daemon for a config: $ABU_DAEMON_URL (+ $ABU_TOKEN) when set, else the runtime file the daemon
 * writes into its state directory, checked by asking for status. Returns null when none answers.
 */
export async function findDaemon(configPath: string, env: NodeJS.ProcessEnv = process.env): Promise<DaemonClient | null> {
  const endpoint = env.ABU_DAEMON_URL ? { url: env.ABU_DAEMON_URL, token: env.ABU_TOKEN ?? null } : await endpointFromConfig(configPath);
  if (!endpoint) return null;
  const client = new DaemonClient(endpoint);
  try {
    await client.status();
    return client;
  } catch {
    return null;
  }
}

async function endpointFromConfig(configPath: string): Promise<DaemonEndpoint | null> {
  const config = await loadConfig(configPath).catch(() => null);
  if (!config) return null;
  const runtime = await fs.readFile(path.join(config.stateDir, 'daemon.json'), 'utf8').then((t) => JSON.parse(t) as { url: string; pid: number }, () => null);
  if (!runtime || !isProcessAlive(runtime.pid)) return null;
  const stored = await fs.readFile(path.join(config.stateDir, 'http-token'), 'utf8').then((t) => t.trim(), () => null);
  return { url: runtime.url, token: config.http.token ?? stored, tokenFile: path.join(config.stateDir, 'http-token') };
}

export class DaemonClient {
  constructor(readonly endpoint: DaemonEndpoint) {}

  status(): Promise<ApplianceStatus & { warnings: string[] }> {
    return this.json('GET', '/api/status');
  }

  async history(limit = 50): Promise<HistoryEntry[]> {
    return (await this.json<{ entries: HistoryEntry[] }>('GET', `/api/history?limit=${limit}`)).entries;
  }

  /**
   * Streams the bundle as the request body; progress arrives through `events()`. A busy appliance is refused
   * before a byte is sent, with the lock holder's PID, as the lock itself would refuse it.
   */
  async upload(upload: Upload, options: RemoteInstallOptions = {}): Promise<InstallResult> {
    await this.refuseIfBusy();
    const query = new URLSearchParams();
    for (const key of ['activate', 'acceptIrreversible', 'reboot', 'adaptive'] as const) if (options[key] !== undefined) query.set(key, String(options[key]));
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream', 'x-abu-filename': encodeURIComponent(upload.name) };
    if (upload.size !== undefined) headers['content-length'] = String(upload.size);
    const route = `/api/install${query.size > 0 ? `?${query}` : ''}`;
    return this.request('POST', route, headers, (req) => {
      upload.body.on('error', (e) => req.destroy(e)).pipe(req);
      // Once the daemon has answered (or the request failed) the rest of the bundle is not needed.
      req.once('close', () => upload.body.destroy());
    });
  }

  /** ABU_ERR_BUSY naming the holder and its PID when the appliance is busy, as the lock itself would. */
  private async refuseIfBusy(): Promise<void> {
    const s = await this.status();
    if (s.lock) throw busyError(s.lock);
    if (s.operation) throw new AbuError('ABU_ERR_BUSY', `busy: "${s.operation}" is running in the abu daemon; wait for it to finish or cancel it`, { details: { running: s.operation } });
  }

  installUrl(url: string, options: RemoteInstallOptions = {}): Promise<InstallResult> {
    return this.json('POST', '/api/install-url', { url, ...options });
  }

  activate(slot?: string, reboot = false, acceptIrreversible?: boolean): Promise<ActivateResult & { activated: string; rebooting: boolean }> {
    return this.json('POST', '/api/activate', { slot, reboot, acceptIrreversible });
  }

  markGood(slot?: string): Promise<unknown> {
    return this.json('POST', '/api/mark-good', { slot });
  }

  markBad(slot?: string): Promise<unknown> {
    return this.json('POST', '/api/mark-bad', { slot });
  }

  reboot(): Promise<unknown> {
    return this.json('POST', '/api/reboot', {});
  }

  cancel(): Promise<{ cancelled: string }> {
    return this.json('POST', '/api/cancel', {});
  }

  /** Runs an install request while `sink` (e.g. the CLI progress bar) receives the daemon's progress and log. */
  async withProgress<T>(sink: EventSink, run: () => Promise<T>): Promise<T> {
    const events = this.events(sink);
    try {
      await events.ready;
      return await run();
    } finally {
      events.stop();
    }
  }

  /** Subscribes to the daemon's progress and log stream (only events from now on); `ready` once connected. */
  events(sink: EventSink): { ready: Promise<void>; stop(): void } {
    let buffer = '';
    let connected: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (connected = resolve));
    // With the token the stream is the operator's: it is not counted against http.limits' event-stream caps.
    const headers = this.endpoint.token ? { authorization: `Bearer ${this.endpoint.token}` } : {};
    const req = this.lib().get(new URL('/api/events?since=now', this.endpoint.url), { headers }, (res) => {
      connected();
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        buffer += text;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          dispatch(buffer.slice(0, end), sink);
          buffer = buffer.slice(end + 2);
        }
      });
      res.on('error', () => undefined);
    });
    // The stream is a nicety: the install request's own answer decides the outcome.
    req.on('error', () => connected());
    return { ready, stop: () => req.destroy() };
  }

  private json<T>(method: string, route: string, body?: unknown): Promise<T> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = data ? { 'content-type': 'application/json', 'content-length': data.length } : {};
    return this.request(method, route, headers, (req) => req.end(data));
  }

  /**
   * One request, settled by the daemon's answer. The daemon may answer an upload before reading all of it
   * (a refused bundle): the answer is read while the body is still being sent, and the upload stops then.
   * A write error (EPIPE, ECONNRESET) after the answer has arrived is that early answer's echo, not a failure;
   * only a request that ends with no complete answer is an error, ABU_ERR_DAEMON naming the daemon.
   */
  private request<T>(method: string, route: string, headers: http.OutgoingHttpHeaders, send: (req: http.ClientRequest) => void): Promise<T> {
    if (this.endpoint.token) headers.authorization = `Bearer ${this.endpoint.token}`;
    return new Promise((resolve, reject) => {
      let answered = false;
      const fail = (e: Error) => reject(this.unreachable(method, route, e));
      const req = this.lib().request(new URL(route, this.endpoint.url), { method, headers }, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          settle(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), resolve, (e) => reject(this.withoutToken(e)));
          req.destroy();
        });
        res.on('error', fail);
      });
      req.on('error', (e) => {
        if (!answered) fail(e);
      });
      send(req);
    });
  }

  /**
   * The daemon's 401 tells an HTTP client to send a header; a CLI user without the token (not root: the token file
   * is mode 0600) needs to hear why it has none and what to do.
   */
  private withoutToken(e: Error): Error {
    if (this.endpoint.token || !isAbuError(e, 'ABU_ERR_UNAUTHORIZED')) return e;
    const where = this.endpoint.tokenFile ?? 'the daemon\'s token file';
    return new AbuError('ABU_ERR_UNAUTHORIZED', `the abu daemon at ${this.endpoint.url} refused: this command changes the appliance and needs the daemon's token, which this user cannot read (${where}, mode 0600); run it as root, or set ABU_DAEMON_URL and ABU_TOKEN`, { cause: e, details: e.details });
  }

  private unreachable(method: string, route: string, e: Error): AbuError {
    const path = route.split('?')[0];
    return new AbuError('ABU_ERR_DAEMON', `the abu daemon at ${this.endpoint.url} did not answer ${method} ${path}: ${e.message}`, {
      cause: e, details: { url: this.endpoint.url, reason: (e as NodeJS.ErrnoException).code ?? e.message },
    });
  }

  private lib(): typeof http | typeof https {
    return this.endpoint.url.startsWith('https:') ? https : http;
  }
}

/** Turns the daemon's JSON error back into the AbuError the engine threw, so the CLI prints the same thing. */
function settle<T>(status: number, text: string, resolve: (v: T) => void, reject: (e: Error) => void): void {
  let body: { code?: string; message?: string; details?: Record<string, unknown> } = {};
  try {
    body = JSON.parse(text);
  } catch {
    /* handled below */
  }
  if (status >= 200 && status < 300) return resolve(body as T);
  const error = (body as { error?: typeof body }).error ?? body;
  if (typeof error.code !== 'string') return reject(new AbuError('ABU_ERR_DAEMON', `the daemon answered ${status} without an abu error: ${text.slice(0, 200)}`, { details: { status } }));
  reject(new AbuError(error.code as AbuErrorCode, error.message ?? `the daemon answered ${status}`, { details: error.details ?? {} }));
}

function dispatch(block: string, sink: EventSink): void {
  const type = /^event: (\w+)$/m.exec(block)?.[1];
  const data = /^data: (.*)$/m.exec(block)?.[1];
  if (!type || !data) return;
  if (type === 'progress') sink.progress(JSON.parse(data) as ProgressEvent);
  else if (type === 'log') sink.log(JSON.parse(data) as LogEvent);
}
