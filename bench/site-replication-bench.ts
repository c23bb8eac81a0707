// Site replication benchmark (issue 9 point 7): a bundle uploaded to the coordinator and replicated to every member
// (real `abu serve` daemons on loopback, once per data center, forwarded by its primary, each replica verified by
// its receiver) against the same bytes sent by parallel `curl` uploads straight to every member's replica endpoint
// (the receivers verify those too), in the same run; and the coordinator's peak RSS per bundle size and member count.
import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBundle } from '../engine/bundle/bundle-writer';
import { digestFile } from '../engine/cluster/replica-verify';
import { writeDemoImage } from '../engine/sim/demo-image';
import { createSimSite, type SimSite, type SimSiteMemberSpec } from '../engine/sim/sim-site';
import { startSimSiteDaemons } from '../engine/sim/sim-site-daemons';
import { call, knob, MIB, peakRssMiB, resetPeakRss, waitReplicated, type Api } from './site-bench-support';
import { childTimes, cpuDelta, cpuOf, printProfile, timeline } from './site-profile';

const PROFILE = process.env.ABU_BENCH_SITE_PROFILE === '1';
/**
 * ABU_BENCH_SITE_MBIT=N models a network-bound site: every transfer is paced to N Mbit/s (curl --limit-rate for the
 * upload and for each baseline upload, site.replication.maxBytesPerSecond for each replica a member serves; a per-flow
 * model, the senders' uplinks are not shared). Unset: loopback, where the 2-core machine's CPU is the bottleneck.
 */
const MBIT = Number(process.env.ABU_BENCH_SITE_MBIT ?? 0);
const RATE = MBIT > 0 ? Math.floor((MBIT * 1e6) / 8) : 0;
const LIMIT = RATE > 0 ? ['--limit-rate', String(RATE)] : [];

interface Row {
  members: number;
  mib: number;
  abuSeconds: number;
  curlSeconds: number;
  rssMiB: number;
}

export async function runSiteReplicationBench(): Promise<void> {
  const sizes = knob('ABU_BENCH_SITE_MIB', [64, 256]);
  const counts = knob('ABU_BENCH_SITE_MEMBERS', [3, 6]);
  const dir = await fs.mkdtemp(path.join(process.env.ABU_BENCH_DIR ?? os.tmpdir(), 'abu-site-bench-'));
  const rows: Row[] = [];
  try {
    for (const n of counts) {
      const extra = RATE > 0 ? { replication: { maxBytesPerSecond: RATE } } : undefined;
      const site = await createSimSite(path.join(dir, `site-${n}`), { members: layout(n), slotSize: 4 * MIB, imageSize: 3 * MIB, bundleBudgetBytes: 3 * Math.max(...sizes) * MIB, extra });
      const daemons = await startSimSiteDaemons(site);
      try {
        const pids = Object.fromEntries(daemons.daemons.map((d) => [d.member.name, d.child.pid!]));
        for (const mib of sizes) rows.push(await benchOne(site, pids, mib));
      } finally {
        await daemons.stop();
      }
      await fs.rm(site.dir, { recursive: true, force: true });
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  printRows(rows);
}

/** Two data centers; the first member coordinates and is the first one's primary. */
export function layout(n: number): SimSiteMemberSpec[] {
  const half = Math.ceil(n / 2);
  return Array.from({ length: n }, (_, i) => {
    const dc = i < half ? 1 : 2;
    const first = i === 0 || i === half;
    return { name: `m${i + 1}`, dataCenter: `dc${dc}`, role: first ? 'primary' : 'secondary', organizations: ['acme'] };
  });
}

async function benchOne(site: SimSite, pids: Record<string, number>, mib: number): Promise<Row> {
  const bundle = await siteBundle(site, mib);
  const { sha256 } = await digestFile(bundle);
  const coordinator = site.members.find((m) => m.name === site.coordinator)!;
  const api: Api = { url: coordinator.url, token: coordinator.operatorToken };
  await resetPeakRss(pids[site.coordinator]);
  const abuSeconds = await abuRun(site, pids, bundle, sha256, mib);
  const rssMiB = await peakRssMiB(pids[site.coordinator]);
  await call(api, 'DELETE', `/api/site/bundles/${sha256}`);
  const [curlCpu0, wall1] = [await cpuOf(pids), Date.now()];
  const curl = await parallelCurl(site, bundle, sha256);
  const curlSeconds = curl.seconds;
  if (PROFILE) {
    const cpu = { ...cpuDelta(curlCpu0, await cpuOf(pids)), curl: curl.cpu };
    printProfile(`curl ${site.members.length} members ${mib} MiB`, cpu, await timeline(site.members, coordinator.siteToken, sha256, wall1), curlSeconds);
  }
  await call(api, 'DELETE', `/api/site/bundles/${sha256}`);
  await fs.rm(bundle);
  process.stderr.write(`  site: ${site.members.length} members, ${mib} MiB: abu ${abuSeconds.toFixed(2)} s, curl ${curlSeconds.toFixed(2)} s, coordinator peak RSS ${rssMiB.toFixed(0)} MiB\n`);
  return { members: site.members.length, mib, abuSeconds, curlSeconds, rssMiB };
}

/**
 * The upload goes by curl as the baseline's do (a client in Node cost the machine ~0.4 CPU-s per 256 MiB more), its
 * SHA-256 announced unless ABU_BENCH_SITE_ANNOUNCE=0; seconds until the last member verified its replica, by the
 * members' own records (the coordinator is polled only every 200 ms, not to load it while it serves).
 */
async function abuRun(site: SimSite, pids: Record<string, number>, bundle: string, sha256: string, mib: number): Promise<number> {
  const coordinator = site.members.find((m) => m.name === site.coordinator)!;
  const api: Api = { url: coordinator.url, token: coordinator.operatorToken };
  const announce = process.env.ABU_BENCH_SITE_ANNOUNCE === '0' ? [] : ['-H', `x-abu-bundle-sha256: ${sha256}`];
  const [cpu0, wall0] = [await cpuOf(pids), Date.now()];
  const t0 = performance.now();
  const sent = await curlSend([...announce, '-X', 'POST', '-T', bundle, '-H', `authorization: Bearer ${api.token}`, `${api.url}/api/site/bundles`]);
  await waitReplicated(api, sha256, t0, 600_000, 200);
  const times = await timeline(site.members, coordinator.siteToken, sha256, wall0);
  const seconds = Math.max(...times.map((t) => t.verified));
  if (PROFILE) printProfile(`abu ${site.members.length} members ${mib} MiB`, { ...cpuDelta(cpu0, await cpuOf(pids)), curl: sent.cpu }, times, seconds);
  return seconds;
}

/** A bundle of `mib` MiB of image for the site's product, signed by the site key. */
export async function siteBundle(site: SimSite, mib: number): Promise<string> {
  const image = path.join(site.dir, `bench-${mib}.img`);
  await writeDemoImage(image, { version: `9.${mib}.0`, size: mib * MIB });
  const out = path.join(site.dir, `bench-${mib}.abu`);
  const key = createPrivateKey(await fs.readFile(site.privateKeyPath));
  await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: image }], product: 'abu-demo-appliance', version: `9.${mib}.0`, buildTime: 1, keys: [key] }, out);
  await fs.rm(image);
  return out;
}

/**
 * The baseline: one `curl -T` per member at once, each receiver verifying what it got; seconds until all are done,
 * and the curls' CPU seconds (the shell's `times` after each curl exits).
 */
async function parallelCurl(site: SimSite, bundle: string, sha: string): Promise<{ seconds: number; cpu: number }> {
  const size = (await fs.stat(bundle)).size;
  const token = site.members.find((m) => m.name === site.coordinator)!.siteToken;
  const t0 = performance.now();
  let cpu = 0;
  await Promise.all(site.members.map(async (m) => {
    const sent = await curlSend(['-T', bundle, '-H', `authorization: Bearer ${token}`, '-H', `content-range: bytes 0-${size - 1}/${size}`, `${m.url}/api/site/peer/replicas/${sha}`]);
    cpu += sent.cpu;
    if (JSON.parse(sent.out).state !== 'verified') throw new Error(`curl to ${m.url}: the member did not verify the replica: ${sent.out}`);
  }));
  return { seconds: (performance.now() - t0) / 1000, cpu };
}

/** One curl request with a file body; its answer and its CPU seconds (the shell's `times` after curl exits). */
function curlSend(args: string[]): Promise<{ out: string; cpu: number }> {
  const common = ['-sS', '--fail-with-body', '-H', 'Expect:', '-H', 'content-type: application/octet-stream', ...LIMIT];
  return new Promise((resolve, reject) => execFile('sh', ['-c', 'curl "$@"; r=$?; times >&2; exit $r', 'sh', ...common, ...args], { maxBuffer: MIB }, (e, stdout, stderr) => (
    e ? reject(new Error(`curl ${args[args.length - 1]}: ${stderr || stdout}`)) : resolve({ out: stdout, cpu: childTimes(stderr) }))));
}

function printRows(rows: Row[]): void {
  console.log(`\nSite replication: upload to the coordinator + replication to every member (each verifies) vs parallel curl uploads to every member${MBIT > 0 ? `; every transfer paced to ${MBIT} Mbit/s` : ', loopback'}`);
  console.log('members  bundle MiB  abu s    parallel curl s  abu/curl  coordinator peak RSS MiB');
  for (const r of rows) {
    console.log(`${String(r.members).padEnd(9)}${String(r.mib).padEnd(12)}${r.abuSeconds.toFixed(2).padEnd(9)}${r.curlSeconds.toFixed(2).padEnd(17)}${(r.abuSeconds / r.curlSeconds).toFixed(2).padEnd(10)}${r.rssMiB.toFixed(0)}`);
  }
}
