// Compression benchmark: zstd levels against the uncompressed bundle of a real ext4 root filesystem, same run:
// bundle size, create time, install time from a file and over HTTP (localhost, and a rate-limited link), daemon memory.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBundle } from '../engine/bundle/bundle-writer';
import { keyId } from '../engine/bundle/keyring';
import { createSimAppliance } from '../engine/sim/create-sim-appliance';
import { daemonRun, post, startStaticServer, timed } from './http-install-bench';
import { abuInstallOn } from './install-bench';
import { median } from './process-run';

const MIB = 1024 * 1024;
const ROUNDS = Math.max(1, Number(process.env.ABU_BENCH_RUNS ?? 3));
/** The rate-limited link, in Mbit/s (ABU_BENCH_LINK_MBIT): what an appliance behind a modest uplink sees. */
const LINK_MBIT = Number(process.env.ABU_BENCH_LINK_MBIT ?? 100);
/** Share of the filesystem filled with files from /usr; the rest stays free, as on a real root filesystem. */
const FILL = 0.6;

interface Variant {
  label: string;
  level?: number;
  file: string;
  bytes: number;
  createSeconds: number;
  fileInstall: number;
  /** The CLI's peak RSS over its file installs (GNU time), MiB. */
  cliRssMiB: number;
  httpLocal: number;
  httpLink: number;
  daemonRssMiB: number;
}

export async function runCompressionBench(mib = Number(process.env.ABU_BENCH_ZSTD_MIB ?? 256), levels = [1, 3, 9, 19]): Promise<Variant[]> {
  const dir = await fs.mkdtemp(path.join(process.env.ABU_BENCH_DIR ?? '/var/tmp', 'abu-zstd-bench-'));
  try {
    const sim = await createSimAppliance(path.join(dir, 'sim'), { slotSize: (mib + 8) * MIB, imageSize: MIB, product: 'bench' });
    await relaxPolicy(sim.configPath);
    const key = createPrivateKey(await fs.readFile(sim.privateKeyPath));
    await fs.mkdir(path.join(dir, 'keys'));
    await fs.writeFile(path.join(dir, 'keys', `${keyId(createPublicKey(key))}.pub`), createPublicKey(key).export({ type: 'spki', format: 'pem' }));
    const image = path.join(dir, 'rootfs.ext4');
    const filled = await buildRootfs(dir, image, mib);
    const variants: Variant[] = [];
    for (const level of [undefined, ...levels]) variants.push(await makeVariant(dir, image, key, level));
    await fileInstalls(dir, image, mib, variants);
    // ABU_BENCH_ZSTD_HTTP=0: file installs only (the CLI's time and memory), a much shorter run.
    if (process.env.ABU_BENCH_ZSTD_HTTP !== '0') await httpInstalls(dir, sim.configPath, variants);
    printRows(mib, filled, variants);
    return variants;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The same bundle is installed again and again into B: no chain or downgrade rule applies to a benchmark, and every
 * install is a full one (an adaptive install would keep what the previous round wrote and measure nothing).
 */
async function relaxPolicy(configPath: string): Promise<void> {
  const config = JSON.parse(await fs.readFile(configPath, 'utf8'));
  config.policy = { strictChain: false, allowDowngrade: true };
  config.install = { ...(config.install ?? {}), adaptive: false };
  await fs.writeFile(configPath, JSON.stringify(config, null, 2));
}

/** An ext4 image made by mke2fs -d from regular files of /usr (binaries, libraries, docs), FILL of it used. */
async function buildRootfs(dir: string, image: string, mib: number): Promise<number> {
  const stage = path.join(dir, 'stage');
  let budget = mib * MIB * FILL;
  let copied = 0;
  for (const top of ['/usr/bin', '/usr/sbin', '/usr/lib/x86_64-linux-gnu', '/usr/share']) {
    for await (const file of walk(top)) {
      const size = (await fs.stat(file)).size;
      if (size > budget) continue;
      const to = path.join(stage, file);
      await fs.mkdir(path.dirname(to), { recursive: true });
      await fs.copyFile(file, to);
      budget -= size + 4096; // a block of slack per file for its tail and metadata
      copied += size;
      if (budget < 64 * 1024) break;
    }
  }
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-d', stage, image, `${mib}M`]);
  await fs.rm(stage, { recursive: true, force: true });
  return copied;
}

async function* walk(dir: string): AsyncGenerator<string> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

async function makeVariant(dir: string, image: string, key: ReturnType<typeof createPrivateKey>, level: number | undefined): Promise<Variant> {
  const label = level === undefined ? 'none' : `zstd:${level}`;
  const file = path.join(dir, 'bundles', `rootfs-${label.replace(':', '-')}.abu`);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const createSeconds = await timed(async () => {
    await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: image }], product: 'bench', version: '1.1.0', buildTime: 1, keys: [key], zstdLevel: level }, file);
  });
  return { label, level, file, bytes: (await fs.stat(file)).size, createSeconds, fileInstall: 0, cliRssMiB: 0, httpLocal: 0, httpLink: 0, daemonRssMiB: 0 };
}

/** `abu install FILE` (CLI, read-back on) into a regular file, rounds interleaved across variants. */
async function fileInstalls(dir: string, image: string, mib: number, variants: Variant[]): Promise<void> {
  const target = path.join(dir, 'target.img');
  await fs.writeFile(target, '');
  await fs.truncate(target, (mib + 4) * MIB);
  execFileSync('dd', [`if=${image}`, `of=${target}`, 'bs=4M', 'oflag=direct', 'conv=fsync,notrunc', 'status=none']);
  const times = variants.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, v] of variants.entries()) {
      const run = await abuInstallOn(dir, target, v.file, true);
      times[i].push(run.seconds);
      v.cliRssMiB = Math.max(v.cliRssMiB, run.maxRssKiB / 1024);
    }
  }
  variants.forEach((v, i) => (v.fileInstall = median(times[i])));
}

/** The daemon installing from a URL (read-back on, no activation): a local python server, and one rate-limited to LINK_MBIT. */
async function httpInstalls(dir: string, configPath: string, variants: Variant[]): Promise<void> {
  const bundles = path.join(dir, 'bundles');
  const local = await startStaticServer(bundles);
  const link = await startThrottledServer(bundles, (LINK_MBIT * 1e6) / 8);
  try {
    for (const v of variants) {
      const name = path.basename(v.file);
      const run = await daemonRun(configPath, async (d) => {
        const localTimes: number[] = [];
        for (let round = 0; round < ROUNDS; round++) localTimes.push(await timed(() => post(d, '/api/install-url', { url: `${local.url}/${name}`, activate: false })));
        const linkTime = await timed(() => post(d, '/api/install-url', { url: `${link.url}/${name}`, activate: false }));
        return { local: median(localTimes), link: linkTime };
      });
      Object.assign(v, { httpLocal: run.result.local, httpLink: run.result.link, daemonRssMiB: run.rssMiB });
    }
  } finally {
    local.close();
    link.close();
  }
}

/** Serves files at `bytesPerSecond` (64 KiB pieces, paced against the clock): a slow uplink without tc or root. */
async function startThrottledServer(dir: string, bytesPerSecond: number): Promise<{ url: string; close(): void }> {
  const server = http.createServer(async (req, res) => {
    const file = path.join(dir, path.basename(decodeURIComponent(req.url ?? '/')));
    const size = await fs.stat(file).then((s) => s.size, () => -1);
    if (size < 0) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
    const started = Date.now();
    let sent = 0;
    for await (const piece of createReadStream(file, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
      const due = started + (sent / bytesPerSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      sent += piece.length;
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      if (res.destroyed) return;
    }
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

function printRows(mib: number, filled: number, variants: Variant[]): void {
  const none = variants[0];
  console.log(`\ncompression benchmark: ext4 root filesystem of ${mib} MiB (mke2fs -d, ${(filled / MIB).toFixed(0)} MiB of files from /usr, the rest free), medians of ${ROUNDS} rounds, read-back on`);
  console.log(`cpu: ${os.cpus()[0]?.model} x${os.cpus().length}; load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; "vs none" = time / the uncompressed bundle's time, same run`);
  console.log(`bundle     size MiB  of none  create s | file install s  vs none  CLI peak RSS MiB | HTTP local s  vs none | HTTP ${LINK_MBIT} Mbit/s s  vs none | daemon peak RSS MiB`);
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  for (const v of variants) {
    console.log(
      `${v.label.padEnd(10)} ${(v.bytes / MIB).toFixed(1).padStart(8)} ${`${((100 * v.bytes) / none.bytes).toFixed(0)}%`.padStart(8)} ${v.createSeconds.toFixed(1).padStart(9)} | ${v.fileInstall.toFixed(2).padStart(14)} ${x(v.fileInstall, none.fileInstall).padStart(8)} ${v.cliRssMiB.toFixed(0).padStart(17)} | ${v.httpLocal.toFixed(2).padStart(12)} ${x(v.httpLocal, none.httpLocal).padStart(8)} | ${v.httpLink.toFixed(2).padStart(19)} ${x(v.httpLink, none.httpLink).padStart(8)} | ${v.daemonRssMiB.toFixed(0).padStart(6)}`,
    );
  }
}

if (require.main === module) {
  const [mib, ...levels] = process.argv.slice(2).map(Number).filter((n) => n > 0);
  runCompressionBench(mib || undefined, levels.length ? levels : undefined).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
