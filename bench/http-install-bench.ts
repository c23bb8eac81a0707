// HTTP install benchmark: abu's daemon installing from a URL and from an upload vs `curl | dd oflag=direct`, same server, same run.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { createEngine } from '../engine/engine';
import { createSimAppliance } from '../engine/sim/create-sim-appliance';
import { benchRoot, machineLine, median } from './process-run';

const MIB = 1024 * 1024;

interface Row {
  mib: number;
  /** Medians over the rounds; ratios are medians of each round's own quotient against that round's curl | dd. */
  curlDd: number;
  url: number;
  urlRatio: number;
  urlNoReadback: number;
  urlNoReadbackRatio: number;
  upload: number;
  uploadRatio: number;
  /** The daemon's peak RSS (VmHWM), median and largest over its runs. */
  rssMiB: number;
  maxRssMiB: number;
}

/** Rounds per size (ABU_BENCH_RUNS, default 3); each round runs the baseline and a fresh daemon per mode. */
const ROUNDS = Math.max(1, Number(process.env.ABU_BENCH_RUNS ?? 3));

export async function runHttpBench(sizesMiB = [256, 1024]): Promise<void> {
  const rows: Row[] = [];
  for (const mib of sizesMiB) rows.push(await benchSize(mib));
  printRows(rows);
}

interface Round {
  curlDd: number;
  url: number;
  upload: number;
  urlNoReadback: number;
  rss: number[];
}

async function benchSize(mib: number): Promise<Row> {
  const dir = await fs.mkdtemp(path.join(process.env.ABU_BENCH_DIR ?? '/var/tmp', 'abu-http-bench-'));
  const server = await startStaticServer(path.join(dir, 'bundles'));
  try {
    const sim = await createSimAppliance(dir, { slotSize: (mib + 8) * MIB, imageSize: mib * MIB });
    const bundle = sim.bundles[0];
    const url = `${server.url}/${path.basename(bundle)}`;
    const target = await slotB(sim.configPath);
    const rounds: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const curlDd = timeShell(`curl -sf ${url} | dd of=${target.device} bs=4M iflag=fullblock oflag=direct,seek_bytes seek=${target.offset} conv=notrunc,fsync status=none`);
      await setInstall(sim.configPath, { readBack: true, adaptive: false }); // full installs: B already holds the image
      const rb = await daemonRun(sim.configPath, async (d) => ({ url: await timed(() => post(d, '/api/install-url', { url, activate: false })), upload: await timed(() => upload(d, bundle)) }));
      await setInstall(sim.configPath, { readBack: false });
      const nrb = await daemonRun(sim.configPath, (d) => timed(() => post(d, '/api/install-url', { url, activate: false })));
      rounds.push({ curlDd, url: rb.result.url, upload: rb.result.upload, urlNoReadback: nrb.result, rss: [rb.rssMiB, nrb.rssMiB] });
    }
    const m = (f: (r: Round) => number) => median(rounds.map(f));
    return {
      mib, curlDd: m((r) => r.curlDd),
      url: m((r) => r.url), urlRatio: m((r) => r.url / r.curlDd),
      urlNoReadback: m((r) => r.urlNoReadback), urlNoReadbackRatio: m((r) => r.urlNoReadback / r.curlDd),
      upload: m((r) => r.upload), uploadRatio: m((r) => r.upload / r.curlDd),
      rssMiB: median(rounds.flatMap((r) => r.rss)), maxRssMiB: Math.max(...rounds.flatMap((r) => r.rss)),
    };
  } finally {
    server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Where slot B lives inside the simulated disk image: the baseline writes exactly there. */
async function slotB(configPath: string): Promise<{ device: string; offset: number }> {
  const engine = await createEngine(configPath);
  try {
    const t = await engine.parts.slots.resolve('B', 'rootfs');
    return { device: t.device, offset: t.offset };
  } finally {
    await engine.close();
  }
}

interface DaemonHandle {
  url: string;
  token: string;
}

/** Starts the daemon in a child, runs `fn`, then reads the child's peak RSS (VmHWM) before stopping it. */
export async function daemonRun<T>(configPath: string, fn: (d: DaemonHandle) => Promise<T>): Promise<{ result: T; rssMiB: number }> {
  const child = spawn(process.execPath, [path.join(benchRoot(), 'dist', 'bench', 'http-daemon-child.js'), configPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`benchmark daemon exited with ${code}`)));
    });
    const result = await fn(JSON.parse(first) as DaemonHandle);
    return { result, rssMiB: await peakRssMiB(child) };
  } finally {
    child.kill('SIGTERM');
  }
}

async function peakRssMiB(child: ChildProcess): Promise<number> {
  const status = await fs.readFile(`/proc/${child.pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

export async function setInstall(configPath: string, patch: { readBack?: boolean; adaptive?: boolean }): Promise<void> {
  const config = JSON.parse(await fs.readFile(configPath, 'utf8'));
  config.install = { ...(config.install ?? {}), ...patch };
  await fs.writeFile(configPath, JSON.stringify(config, null, 2));
}

export function post(d: DaemonHandle, route: string, body: unknown): Promise<void> {
  const data = Buffer.from(JSON.stringify(body));
  return request(d, route, { 'content-type': 'application/json', 'content-length': String(data.length) }, (req) => req.end(data));
}

async function upload(d: DaemonHandle, file: string): Promise<void> {
  const size = (await fs.stat(file)).size;
  return request(d, '/api/install?activate=false', { 'content-type': 'application/octet-stream', 'content-length': String(size) }, (req) => createReadStream(file).pipe(req));
}

function request(d: DaemonHandle, route: string, headers: Record<string, string>, send: (req: http.ClientRequest) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(d.url + route, { method: 'POST', headers: { ...headers, authorization: `Bearer ${d.token}` } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`install failed in the benchmark: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    send(req);
  });
}

/** The baseline's server (as in references/performance-anchors.md): python3 -m http.server. */
export async function startStaticServer(dir: string): Promise<{ url: string; close(): void }> {
  await fs.mkdir(dir, { recursive: true });
  const port = await freePort();
  const child = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', dir], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const up = await fetch(url + '/').then(() => true, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, close: () => child.kill('SIGTERM') };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function timed(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function timeShell(cmd: string): number {
  const t = process.hrtime.bigint();
  execFileSync('sh', ['-c', `set -e; ${cmd}`], { stdio: 'inherit' });
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function printRows(rows: Row[]): void {
  console.log(`\nHTTP install benchmark: daemon of ${benchRoot()}, medians of ${ROUNDS} rounds (ratio = abu wall time / \`curl | dd oflag=direct\` wall time, same server, same slot, same round)`);
  console.log(machineLine());
  console.log('size      curl|dd s  MiB/s | URL s  ratio | URL no-readback s  ratio | upload s  ratio | daemon peak RSS MiB (max)');
  const r2 = (n: number) => n.toFixed(2);
  for (const r of rows) {
    console.log(
      `${`${r.mib} MiB`.padEnd(9)} ${r2(r.curlDd).padStart(9)} ${(r.mib / r.curlDd).toFixed(0).padStart(6)} | ${r2(r.url).padStart(5)} ${r2(r.urlRatio).padStart(5)}x | ${r2(r.urlNoReadback).padStart(17)} ${r2(r.urlNoReadbackRatio).padStart(5)}x | ${r2(r.upload).padStart(8)} ${r2(r.uploadRatio).padStart(5)}x | ${r.rssMiB.toFixed(0).padStart(6)} (${r.maxRssMiB.toFixed(0)})`,
    );
  }
}

if (require.main === module) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  runHttpBench(sizes.length ? sizes : undefined).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
