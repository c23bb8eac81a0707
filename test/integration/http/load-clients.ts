// Test helper: many HTTP clients on loopback, each from its own 127.0.0.x address, polling status and holding an event stream.
import * as http from 'node:http';
import { readFileSync } from 'node:fs';

export interface ClientTally {
  /** Status requests sent, and answered by status code. */
  sent: number;
  answered: Record<number, number>;
  /** Requests that got no HTTP answer (connection refused, reset, timed out). */
  failed: string[];
  /** Milliseconds from request to answer, per answered status request. */
  latencies: number[];
  /** Event stream: HTTP status of the GET /api/events (0 before an answer), the refusal's code, events seen. */
  stream: { status: number; code?: string; progress: number };
}

export interface LoadClient {
  tally: ClientTally;
  /** Sends no more requests, waits for the answer to the one in flight, then closes the stream. */
  stop(): Promise<void>;
}

/** One client: an event stream held open, and GET /api/status every `everyMs` (one at a time), until stop(). */
export function loadClient(url: string, localAddress: string, everyMs: number, token?: string): LoadClient {
  const base = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const tally: ClientTally = { sent: 0, answered: {}, failed: [], latencies: [], stream: { status: 0, progress: 0 } };
  let running = true;
  const opts = { host: base.hostname, port: base.port, localAddress, headers };
  const stream = http.get({ ...opts, path: '/api/events?since=now', agent: false }, (res) => {
    tally.stream.status = res.statusCode ?? 0;
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (t: string) => {
      text += t;
      if (res.statusCode === 200) {
        tally.stream.progress += (text.match(/event: progress/g) ?? []).length;
        text = text.slice(text.lastIndexOf('\n\n') + 2);
      }
    });
    res.on('end', () => { if (res.statusCode !== 200) tally.stream.code = safeCode(text); });
    res.on('error', () => undefined);
  });
  stream.on('error', (e) => { if (running) tally.failed.push(`events: ${e.message}`); });
  const poll = async () => {
    while (running) {
      tally.sent++;
      const t0 = performance.now();
      const status = await getStatus(opts, agent).catch((e: Error) => { tally.failed.push(`status: ${e.message}`); return 0; });
      if (status) {
        tally.answered[status] = (tally.answered[status] ?? 0) + 1;
        tally.latencies.push(performance.now() - t0);
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  const polling = poll();
  return {
    tally,
    stop: async () => {
      running = false;
      await polling;
      stream.destroy();
      agent.destroy();
    },
  };
}

/** An answer within 30 s or a failure: a request the daemon never answers counts as not answered. */
function getStatus(opts: http.RequestOptions, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ ...opts, path: '/api/status', agent, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
    req.on('error', reject);
  });
}

function safeCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { code?: string }).code;
  } catch {
    return undefined;
  }
}

/** Resident and peak resident set of a process, in MiB (Linux /proc). */
export function rssMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}
