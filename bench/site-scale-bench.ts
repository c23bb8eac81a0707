// Site scale benchmark (issue 9 point 7): one real coordinator (`abu serve` on a simulated appliance) tracking a site
// of 500 members, 499 of them played by the member simulator (member-simulator.ts, one process, named as such):
// replication of a bundle to every member, then the latency of the status API the pages and `abu site status` use.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { digestFile } from '../engine/cluster/replica-verify';
import { createSimAppliance } from '../engine/sim/create-sim-appliance';
import { freePort } from '../engine/sim/sim-site';
import { sha256 } from '../engine/site-config';
import { call, knob, MIB, peakRssMiB, percentile, upload, waitReplicated, type Api } from './site-bench-support';

const ABU = path.resolve(__dirname, '../../bin/abu');
const PER_DATA_CENTER = 10;

export async function runSiteScaleBench(): Promise<void> {
  const [members] = knob('ABU_BENCH_SCALE_MEMBERS', [500]);
  const [bundleMiB] = knob('ABU_BENCH_SCALE_BUNDLE_MIB', [4]);
  const dir = await fs.mkdtemp(path.join(process.env.ABU_BENCH_DIR ?? os.tmpdir(), 'abu-site-scale-'));
  const port = await freePort();
  const simulator = await startChild(process.execPath, [path.join(__dirname, 'member-simulator.js'), String(members - 1), `http://127.0.0.1:${port}`, String(PER_DATA_CENTER)]);
  let coordinator: ChildProcess | null = null;
  try {
    const ports = JSON.parse(simulator.line).ports as number[];
    const sim = await createSimAppliance(path.join(dir, 'coordinator'), { slotSize: (bundleMiB + 2) * MIB, imageSize: bundleMiB * MIB });
    const api = await configure(sim.configPath, port, ports, bundleMiB);
    coordinator = (await startChild(process.execPath, [ABU, 'serve', '--config', sim.configPath, '--json'], path.join(dir, 'serve.log'))).child;
    const { sha256: sha } = await digestFile(sim.bundles[0]);
    await call(api, 'GET', '/api/site/status');
    const idleMiB = await peakRssMiB(coordinator.pid!);
    const t0 = performance.now();
    await upload(api, '/api/site/bundles', sim.bundles[0]);
    const replicated = await waitReplicated(api, sha, t0);
    const replicatedMiB = await peakRssMiB(coordinator.pid!);
    const bundles = await latency(api, '/api/site/bundles', 200);
    const status = await latency(api, '/api/site/status', 20);
    const rollout = await latency(api, '/api/cluster/rollout', 200);
    const rss = await peakRssMiB(coordinator.pid!);
    console.log(`\nSite scale: one coordinator, ${members} members (${members - 1} played by the member simulator, one process), ${members / PER_DATA_CENTER} data centers`);
    console.log(`replication of a ${bundleMiB} MiB bundle to ${members}/${members}: ${replicated.toFixed(2)} s; coordinator peak RSS ${idleMiB.toFixed(0)} MiB before the upload (one status round), ${replicatedMiB.toFixed(0)} MiB after the replication, ${rss.toFixed(0)} MiB after the status calls`);
    console.log('status API                         calls  p50 ms   p95 ms');
    for (const [route, t] of [['GET /api/site/bundles (n/m)', bundles], ['GET /api/site/status (asks all)', status], ['GET /api/cluster/rollout', rollout]] as const) {
      console.log(`${route.padEnd(35)}${String(t.length).padEnd(7)}${percentile(t, 50).toFixed(1).padEnd(9)}${percentile(t, 95).toFixed(1)}`);
    }
  } finally {
    coordinator?.kill('SIGTERM');
    simulator.child.kill('SIGTERM');
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The coordinator's config: a site of itself plus the simulated members, ten per data center. */
async function configure(configPath: string, port: number, ports: number[], bundleMiB: number): Promise<Api> {
  const config = JSON.parse(await fs.readFile(configPath, 'utf8'));
  const token = randomBytes(18).toString('base64url');
  const operator = randomBytes(18).toString('base64url');
  const all = [{ name: 'coordinator', port }, ...ports.map((p, i) => ({ name: `sim-${i + 1}`, port: p }))];
  config.http = { host: '127.0.0.1', port, token: operator };
  config.site = {
    self: 'coordinator', coordinator: 'coordinator', token,
    members: all.map((m, i) => ({
      name: m.name, url: `http://127.0.0.1:${m.port}`, tokenSha256: sha256(i === 0 ? token : `simulated-member-${i}`),
      dataCenter: `dc${Math.floor(i / PER_DATA_CENTER) + 1}`, role: i % PER_DATA_CENTER === 0 ? 'primary' : 'secondary', organizations: [`org${i % 7}`],
    })),
    bundleBudgetBytes: 4 * bundleMiB * MIB,
    replication: { retryBaseMs: 200, retryMaxMs: 2000 },
  };
  await fs.writeFile(configPath, JSON.stringify(config, null, 2));
  return { url: `http://127.0.0.1:${port}`, token: operator };
}

/** Sequential calls, milliseconds each. */
async function latency(api: Api, route: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call(api, 'GET', route);
    out.push(performance.now() - t0);
  }
  return out;
}

/** Starts a process and waits for its first line on stdout (it is ready). */
async function startChild(cmd: string, args: string[], log?: string): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', log ? 'pipe' : 'inherit'] });
  if (log) child.stderr!.pipe(createWriteStream(log));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${path.basename(args[0])} exited with ${code} before it was ready${log ? ` (see ${log})` : ''}`)));
  });
  child.stdout!.resume();
  return { child, line };
}
