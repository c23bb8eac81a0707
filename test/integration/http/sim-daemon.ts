// Test helper: the real engine on a fresh simulated appliance behind a daemon on a free port, plus small HTTP helpers.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { startDaemon, type Daemon } from '../../../engine/transports/http/daemon';

export interface SimDaemon {
  sim: SimAppliance;
  daemon: Daemon;
  /** fetch against the daemon; `auth` false sends no token. */
  call(method: string, route: string, o?: { body?: unknown; raw?: Buffer | string; type?: string; auth?: boolean | string; headers?: Record<string, string> }): Promise<{ status: number; json: any }>;
  close(): Promise<void>;
}

const MIB = 1024 * 1024;

export async function startSimDaemon(o: { slotSize?: number; imageSize?: number; editConfig?: (config: any) => void } = {}): Promise<SimDaemon> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-http-'));
  const sim = await createSimAppliance(dir, { slotSize: o.slotSize ?? 8 * MIB, imageSize: o.imageSize ?? 6 * MIB });
  if (o.editConfig) await editConfig(sim.configPath, o.editConfig);
  const daemon = await startTestDaemon(sim.configPath).catch(async (e) => {
    await fs.rm(dir, { recursive: true, force: true });
    throw e;
  });
  const self: SimDaemon = { sim, daemon, call: (...a) => call(...a), close: async () => {
    await self.daemon.close();
    await fs.rm(dir, { recursive: true, force: true });
  } };
  const call: SimDaemon['call'] = async (method, route, c = {}) => {
    const daemon = self.daemon;
    const headers: Record<string, string> = { ...(c.headers ?? {}) };
    if (c.auth !== false) headers.authorization = typeof c.auth === 'string' ? c.auth : `Bearer ${daemon.token}`;
    let body: Buffer | string | undefined = c.raw;
    if (c.body !== undefined) {
      body = JSON.stringify(c.body);
      headers['content-type'] = 'application/json';
    }
    if (c.type) headers['content-type'] = c.type;
    const res = await fetch(daemon.url + route, { method, headers, body });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON: tests assert on it */
    }
    return { status: res.status, json };
  };
  return self;
}

export function startTestDaemon(configPath: string): Promise<Daemon> {
  return startDaemon({ configPath, port: 0, download: { retryDelayMs: 20, retries: 2 } });
}

export async function editConfig(configPath: string, edit: (config: any) => void): Promise<void> {
  const config = JSON.parse(await fs.readFile(configPath, 'utf8'));
  edit(config);
  await fs.writeFile(configPath, JSON.stringify(config, null, 2));
}

/** Polls until no operation runs (installs finish asynchronously after a broken client). */
export async function settle(d: SimDaemon, timeoutMs = 10_000): Promise<any> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const { status, json } = await d.call('GET', '/api/status');
    // A simulated restart rewrites the kernel command line; a status read in that instant may fail: ask again.
    if ((status === 200 && !json.operation) || Date.now() > end) return json;
    await new Promise((r) => setTimeout(r, 50));
  }
}
