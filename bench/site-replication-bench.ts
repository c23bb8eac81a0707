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
import { call, knob, MIB, peakRssMiB, resetPeakRss, upload, waitReplicated, type Api } from './site-bench-support';
import { childTimes, cpuDelta, cpuOf, printProfile, timeline } from './site-profile';

const PROFILE = process.env.ABU_BENCH_SITE_PROFILE === '1';

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
      const site = await createSimSite(path.join(dir, `site-${n}`), { members: layout(n), slotSize: 4 * MIB, imageSize: 3 * MIB, bundleBudgetBytes: 3 * Math.max(...sizes) * MIB });
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
function layout(n: number): SimSiteMemberSpec[] {
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
  const coordinatorPid = pids[site.coordinator];
  await resetPeakRss(coordinatorPid);
  const [abuCpu0, self0, wall0] = [await cpuOf(pids), process.cpuUsage(), Date.now()];
  const t0 = performance.now();
  await upload(api, '/api/site/bundles', bundle);
  const abuSeconds = await waitReplicated(api, sha256, t0);
  const rssMiB = await peakRssMiB(coordinatorPid);
  if (PROFILE) {
    const cpu = { ...cpuDelta(abuCpu0, await cpuOf(pids)), uploader: cpuSecondsSince(self0) };
    printProfile(`abu ${site.members.length} members ${mib} MiB`, cpu, await timeline(site.members, coordinator.siteToken, sha256, wall0), abuSeconds);
  }
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

/** A bundle of `mib` MiB of image for the site's product, signed by the site key. */
async function siteBundle(site: SimSite, mib: number): Promise<string> {
  const image = path.join(site.dir, `bench-${mib}.img`);
  await writeDemoImage(image, { version: `9.${mib}.0`, size: mib * MIB });
  const out = path.join(site.dir, `bench-${mib}.abu`);
  const key = createPrivateKey(await fs.readFile(site.privateKeyPath));
  await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: image }], product: 'abu-demo-appliance', version: `9.${mib}.0`, buildTime: 1, keys: [key] }, out);
  await fs.rm(image);
  return out;
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
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
    const out = await new Promise<string>((resolve, reject) => execFile('sh', ['-c', 'curl "$@"; r=$?; times >&2; exit $r', 'sh',
      '-sS', '--fail-with-body', '-T', bundle, '-H', 'Expect:', '-H', `authorization: Bearer ${token}`, '-H', 'content-type: application/octet-stream',
      '-H', `content-range: bytes 0-${size - 1}/${size}`, `${m.url}/api/site/peer/replicas/${sha}`,
    ], { maxBuffer: MIB }, (e, stdout, stderr) => (e ? reject(new Error(`curl to ${m.name}: ${stderr || stdout}`)) : (cpu += childTimes(stderr), resolve(stdout)))));
    if (JSON.parse(out).state !== 'verified') throw new Error(`curl to ${m.name}: the member did not verify the replica: ${out}`);
  }));
  return { seconds: (performance.now() - t0) / 1000, cpu };
}

function printRows(rows: Row[]): void {
  console.log('\nSite replication: upload to the coordinator + replication to every member (each verifies) vs parallel curl uploads to every member');
  console.log('members  bundle MiB  abu s    parallel curl s  abu/curl  coordinator peak RSS MiB');
  for (const r of rows) {
    console.log(`${String(r.members).padEnd(9)}${String(r.mib).padEnd(12)}${r.abuSeconds.toFixed(2).padEnd(9)}${r.curlSeconds.toFixed(2).padEnd(17)}${(r.abuSeconds / r.curlSeconds).toFixed(2).padEnd(10)}${r.rssMiB.toFixed(0)}`);
  }
}
