// Adaptive update benchmark: an image differing in 1 % of its chunks, over HTTP from a local server (own process,
// loopback), against a full install of the same bundle in the same run. Prints bytes fetched/copied/skipped and times.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { createBundle } from '../engine/bundle/bundle-writer';
import type { TransferCounts } from '../engine/core/progress';
import { createEngine, type AbuEngine } from '../engine/engine';
import { createSimAppliance, type SimAppliance } from '../engine/sim/create-sim-appliance';
import { HttpUrlSource } from '../engine/sources/http-url-source';
import type { ImageSource } from '../engine/sources/image-source';
import { Transform } from 'node:stream';
import { tracePhases } from './adaptive-trace';

const MIB = 1024 * 1024;
/** ABU_BENCH_ADAPTIVE_MBIT=N: the same scenarios again, from a server paced to N Mbit/s (an appliance's slow link). */
const MBIT = Number(process.env.ABU_BENCH_ADAPTIVE_MBIT ?? 0);
/** ABU_BENCH_ADAPTIVE_TRACE=1: prints when each progress phase starts in every install. */
const TRACE = process.env.ABU_BENCH_ADAPTIVE_TRACE === '1';

interface Sample {
  seconds: number;
  served: number;
  transfer?: TransferCounts;
}

/** What slot B holds before the install, and how the install runs. */
interface Scenario {
  name: string;
  before: 'zeros' | 'previous' | 'resume';
  adaptive: boolean;
}

const SCENARIOS: Scenario[] = [
  { name: 'full install (adaptive off)', before: 'zeros', adaptive: false },
  { name: 'adaptive, B empty: copy from A', before: 'zeros', adaptive: true },
  { name: 'adaptive, B holds the previous release', before: 'previous', adaptive: true },
  { name: 'adaptive, resume after a cut at 90 %', before: 'resume', adaptive: true },
];

export async function runAdaptiveBench(mib = Number(process.env.ABU_BENCH_ADAPTIVE_MIB ?? 256), rounds = 3): Promise<void> {
  const dir = await fs.mkdtemp(path.join(process.env.ABU_BENCH_DIR ?? '/var/tmp', 'abu-adaptive-bench-'));
  const servers: Server[] = [];
  try {
    const sim = await createSimAppliance(dir, { slotSize: (mib + 8) * MIB, imageSize: mib * MIB });
    const { bundle, changed, chunks } = await derivedBundle(sim, MIB, 0.01);
    servers.push(await startServer(bundle, 0));
    if (MBIT > 0) servers.push(await startServer(bundle, MBIT));
    const engine = await createEngine(sim.configPath);
    for (const server of servers) {
      const samples = new Map<string, Sample[]>(SCENARIOS.map((s) => [s.name, []]));
      for (let r = 0; r < rounds; r++) {
        for (const s of SCENARIOS) samples.get(s.name)!.push(await runScenario(engine, sim, { link: server, loopback: servers[0] }, s, mib));
      }
      print(mib, chunks, changed, (await fs.stat(bundle)).size, samples, server.mbit);
    }
    await engine.close();
  } finally {
    for (const server of servers) server.child.kill('SIGTERM');
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** The factory image with `share` of its 1 MiB chunks (spread evenly) replaced by random bytes, signed as 1.1.0. */
async function derivedBundle(sim: SimAppliance, chunkSize: number, share: number): Promise<{ bundle: string; changed: number; chunks: number }> {
  const image = await fs.readFile(path.join(sim.dir, 'images', 'rootfs-1.0.0.img'));
  const chunks = Math.ceil(image.length / chunkSize);
  const changed = Math.max(1, Math.round(chunks * share));
  for (let k = 0; k < changed; k++) randomBytes(chunkSize).copy(image, Math.floor(((k + 0.5) * chunks) / changed) * chunkSize);
  const file = path.join(sim.dir, 'images', 'rootfs-1.1.0-adaptive.img');
  await fs.writeFile(file, image);
  const bundle = path.join(sim.dir, 'bundles', 'adaptive-1.1.0.abu');
  const key = createPrivateKey(await fs.readFile(sim.privateKeyPath));
  await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: file }], product: 'abu-demo-appliance', version: '1.1.0', source: { exact: '1.0.0' }, chunkSize, buildTime: 1, keys: [key] }, bundle);
  return { bundle, changed, chunks };
}

/** `link` serves the measured install; the state before it (the cut install of "resume") always comes over loopback. */
async function runScenario(engine: AbuEngine, sim: SimAppliance, servers: { link: Server; loopback: Server }, s: Scenario, mib: number): Promise<Sample> {
  const { link: server, loopback } = servers;
  const b = await engine.parts.slots.resolve('B', 'rootfs');
  if (s.before === 'previous') dd(path.join(sim.dir, 'images', 'rootfs-1.0.0.img'), b.device, b.offset, mib);
  else dd('/dev/zero', b.device, b.offset, mib);
  if (s.before === 'resume') await cutAt(engine, loopback.url, 0.9, loopback.size);
  const start = await settled(server);
  const trace = TRACE ? tracePhases(engine) : null;
  const t = process.hrtime.bigint();
  const result = await engine.install(new HttpUrlSource(server.url, { maxBytes: (mib + 8) * MIB }), { activate: false, adaptive: s.adaptive });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (trace) console.log(`trace ${s.name}: ${trace.line()}`);
  trace?.stop();
  return { seconds, served: (await server.stats()) - start, transfer: result.transfer };
}

/** A full install whose download drops for good after 90 % of the bundle: what a dropped link or a kill leaves. */
async function cutAt(engine: AbuEngine, url: string, share: number, size: number): Promise<void> {
  const http = new HttpUrlSource(url, { maxBytes: 2 ** 40, retries: 0 });
  const source: ImageSource = {
    description: 'download cut at 90 %',
    open: async () => {
      let seen = 0;
      const cut = new Transform({
        transform(piece: Buffer, _enc, done) {
          seen += piece.length;
          if (seen > share * size) return done(new Error('the link dropped'));
          done(null, piece);
        },
      });
      return (await http.open()).pipe(cut);
    },
  };
  await engine.install(source, { activate: false, adaptive: false }).then(
    () => Promise.reject(new Error('the install meant to be cut finished')),
    () => undefined,
  );
}

/** The server's count once it stops moving (a dropped download's last bytes are still being pushed for a moment). */
async function settled(server: Server): Promise<number> {
  for (let last = -1; ;) {
    const now = await server.stats();
    if (now === last) return now;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
  }
}

function dd(from: string, device: string, offset: number, mib: number): void {
  execFileSync('dd', [`if=${from}`, `of=${device}`, 'bs=1M', `count=${mib}`, `seek=${offset}`, 'oflag=seek_bytes,direct', 'conv=notrunc,fsync', 'status=none']);
}

interface Server {
  url: string;
  /** The link's pace, 0: loopback at full speed. */
  mbit: number;
  size: number;
  child: ChildProcess;
  stats(): Promise<number>;
}

async function startServer(file: string, mbit: number): Promise<Server> {
  const child = spawn(process.execPath, [path.join(__dirname, 'range-server-child.js'), file, '-', String(mbit)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: Interface = createInterface({ input: child.stdout! });
  const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
  const { url } = JSON.parse(await next()) as { url: string };
  return {
    url, mbit, child, size: (await fs.stat(file)).size,
    stats: async () => {
      const answer = next();
      child.stdin!.write('stats\n');
      return (JSON.parse(await answer) as { bytesSent: number }).bytesSent;
    },
  };
}

function print(mib: number, chunks: number, changed: number, bundleSize: number, samples: Map<string, Sample[]>, mbit: number): void {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const full = median(samples.get(SCENARIOS[0].name)!.map((x) => x.seconds));
  const m = (n: number) => (n / MIB).toFixed(1);
  console.log(`\nAdaptive update benchmark: ${mib} MiB image, ${chunks} chunks of 1 MiB, ${changed} changed (${((changed * 100) / chunks).toFixed(1)} %), over HTTP (${mbit > 0 ? `a link paced to ${mbit} Mbit/s` : 'loopback'}, server in its own process)`);
  console.log(`cpu: ${os.cpus()[0]?.model} x${os.cpus().length}; load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; medians of ${samples.get(SCENARIOS[0].name)!.length} rounds; ratio = time / full install time`);
  console.log('scenario                                  time s  ratio | served MiB  % of bundle | fetched MiB  copied MiB  skipped MiB');
  for (const [name, xs] of samples) {
    const s = median(xs.map((x) => x.seconds));
    const served = median(xs.map((x) => x.served));
    const t = xs[xs.length - 1].transfer;
    const counts = t ? `${m(t.fetched).padStart(11)} ${m(t.copied).padStart(11)} ${m(t.skipped).padStart(12)}` : '          -           -            -';
    console.log(`${name.padEnd(41)} ${s.toFixed(2).padStart(6)} ${(s / full).toFixed(2).padStart(5)}x | ${m(served).padStart(10)} ${((served * 100) / bundleSize).toFixed(1).padStart(10)} % | ${counts}`);
  }
}

if (require.main === module) {
  runAdaptiveBench(Number(process.argv[2]) || undefined).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
