// `npm run bench site-repeat`: the same bundle uploaded and replicated again and again by the same daemons; CPU
// seconds each daemon spends per pull, to see whether later pulls cost more than earlier ones (they should not).
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { digestFile } from '../engine/cluster/replica-verify';
import { createSimSite } from '../engine/sim/sim-site';
import { startSimSiteDaemons } from '../engine/sim/sim-site-daemons';
import { call, knob, MIB, upload, waitReplicated, type Api } from './site-bench-support';
import { cpuDelta, cpuOf } from './site-profile';
import { layout, siteBundle } from './site-replication-bench';

/** ABU_BENCH_REPEAT_MIB (256), ABU_BENCH_REPEAT_PULLS (5), ABU_BENCH_REPEAT_MEMBERS (3). */
export async function runSiteRepeatBench(): Promise<void> {
  const [mib] = knob('ABU_BENCH_REPEAT_MIB', [256]);
  const [pulls] = knob('ABU_BENCH_REPEAT_PULLS', [5]);
  const [n] = knob('ABU_BENCH_REPEAT_MEMBERS', [3]);
  const dir = await fs.mkdtemp(path.join(process.env.ABU_BENCH_DIR ?? os.tmpdir(), 'abu-site-repeat-'));
  try {
    const site = await createSimSite(path.join(dir, 'site'), { members: layout(n), slotSize: 4 * MIB, imageSize: 3 * MIB, bundleBudgetBytes: 3 * mib * MIB });
    const bundle = await siteBundle(site, mib);
    const { sha256 } = await digestFile(bundle);
    const coordinator = site.members.find((m) => m.name === site.coordinator)!;
    const api: Api = { url: coordinator.url, token: coordinator.operatorToken };
    const daemons = await startSimSiteDaemons(site);
    try {
      const pids = Object.fromEntries(daemons.daemons.map((d) => [d.member.name, d.child.pid!]));
      console.log(`\nSite replication repeated: ${n} members, ${mib} MiB, ${pulls} pulls by the same daemons; CPU-s per daemon per pull (loopback)`);
      console.log(`pull  wall s  ${Object.keys(pids).map((k) => k.padEnd(6)).join('')}  RSS MiB after the pull`);
      for (let i = 1; i <= pulls; i++) {
        const before = await cpuOf(pids);
        const t0 = performance.now();
        await upload(api, '/api/site/bundles', bundle, sha256);
        const wall = await waitReplicated(api, sha256, t0, 600_000, 200);
        const cpu = cpuDelta(before, await cpuOf(pids));
        const rss = await Promise.all(Object.values(pids).map(rssMiB));
        console.log(`${String(i).padEnd(6)}${wall.toFixed(2).padEnd(8)}${Object.values(cpu).map((v) => v.toFixed(2).padEnd(6)).join('')}  ${rss.map((v) => v.toFixed(0)).join(' ')}`);
        await call(api, 'DELETE', `/api/site/bundles/${sha256}`);
      }
    } finally {
      await daemons.stop();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Resident set size now (VmRSS), in MiB. */
async function rssMiB(pid: number): Promise<number> {
  const m = /VmRSS:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
