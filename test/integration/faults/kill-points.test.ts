// The kill-point campaign (issue 11, point 2): abu killed (SIGKILL, by ABU_FAULT) at every named fault point, as real
// CLI, daemon, console and site processes on simulated appliances; after each kill and restart the booted slot is
// unchanged, the bootloader picks a whole signed image, status and history claim nothing false, and the next update works.
import assert from 'node:assert/strict';
import { FAULT_POINTS, type FaultPointName } from '../../../engine/core/fault-point';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { tempDir } from '../../helpers/bundle-fixtures';
import { editConfig } from '../http/sim-daemon';
import { haveSocat } from '../serial/pty-pair';
import { APPLIANCE_CASES, runApplianceCase } from './appliance-cases';
import { DAEMON_CASES } from './daemon-cases';
import { copyAppliance, kills, pool } from './fault-procs';
import { KnownImages } from './invariants';
import { runSiteCases } from './site-cases';

const MIB = 1024 * 1024;
/** Cases side by side: each has its own appliance copy (and ports), so they cannot disturb each other. */
const WIDTH = 3;
/** CI kills once at every point; scripts/kill-campaign sets ABU_KILL_CAMPAIGN=full (every entry point) and a repeat count. */
const FULL = process.env.ABU_KILL_CAMPAIGN === 'full';
const REPEAT = Math.max(1, Number(process.env.ABU_KILL_REPEAT ?? '1') || 1);
const repeated = <T>(cases: T[]): T[] => Array.from({ length: REPEAT }, () => cases).flat();

describe('kill at every named fault point', function () {
  this.timeout(300_000);
  let template: SimAppliance;
  let images: KnownImages;
  let root = '';
  let cleanup = async () => undefined as void;
  let copies = 0;
  let site: Promise<{ runs: Awaited<ReturnType<typeof runSiteCases>> } | { error: Error }>;
  let daemons: Promise<string[]>;
  const runs: { group: string; name: string; point: FaultPointName; violations: string[] }[] = [];

  before(async () => {
    const t = await tempDir('abu-faults-');
    root = t.dir;
    cleanup = t.cleanup;
    // One template and one bundle set for every case: 8 MiB slots, 6 MiB images in two 4 MiB chunks.
    template = await createSimAppliance(`${root}/template`, { slotSize: 8 * MIB, imageSize: 6 * MIB });
    // One chunk in flight: a kill "after chunk N" then leaves exactly N chunks written (with several in flight the
    // other chunks of so small an image are often written too, and no kill would leave a partial image behind).
    await editConfig(template.configPath, (c) => (c.install.inFlightChunks = 1));
    images = await KnownImages.load([template]);
    // Daemon cases (own copies, ports picked by the kernel) and the site (its own appliances and ports, cases one
    // after another) go on beside the CLI cases: nothing is shared, and the suite's wall time is the longest group's.
    const daemonCases = haveSocat() ? DAEMON_CASES : DAEMON_CASES.filter((c) => c.point !== 'serial.after-block');
    daemons = campaign('daemon', repeated(daemonCases), 2, (c, sim) => c.run(sim, images, c));
    site = (async () => {
      const all: Awaited<ReturnType<typeof runSiteCases>> = [];
      for (let i = 0; i < REPEAT; i++) all.push(...(await runSiteCases(`${root}/site-${i}`, FULL)));
      return all;
    })().then((r) => ({ runs: r }), (error: Error) => ({ error }));
  });
  after(async () => {
    await Promise.all([site, daemons]);
    printSummary(runs);
    await cleanup();
  });

  const fresh = () => copyAppliance(template, `${root}/case-${++copies}`);

  /** Runs the cases `width` at a time; resolves with each failed case (a violation or an error), never rejects. */
  async function campaign<T extends { name: string; point: FaultPointName }>(group: string, cases: T[], width: number, run: (c: T, sim: SimAppliance) => Promise<string[]>): Promise<string[]> {
    const failures = await pool(cases, width, async (c) => {
      const violations = await run(c, await fresh());
      runs.push({ group, name: c.name, point: c.point, violations });
      if (violations.length > 0) throw new Error(violations.join('\n  '));
    });
    return failures.map((f) => `${f.name}: ${f.error.stack ?? f.error.message}`);
  }

  it('one appliance through the CLI (--direct): install phases, activation, boot-check, mark-good, mark-bad', async () => {
    assert.deepEqual(await campaign('cli', repeated(APPLIANCE_CASES.filter((c) => FULL || !c.full)), WIDTH, (c, sim) => runApplianceCase(c, sim, images)), []);
  });

  it('abu serve (upload install, package queue) and abu console (serial upload)', async () => {
    assert.deepEqual(await daemons, []);
  });

  it('a site on loopback: replication and rollout with the coordinator or a member killed', async () => {
    const result = await site;
    if ('error' in result) throw result.error;
    for (const v of result.runs) runs.push({ group: 'site', ...v });
    assert.deepEqual(result.runs.filter((v) => v.violations.length > 0), []);
  });

  it('every registered fault point killed a process at least once', function () {
    if (!haveSocat()) this.skip(); // the serial point needs socat's pty pairs (CI installs socat)
    const missed = (Object.keys(FAULT_POINTS) as FaultPointName[]).filter((p) => !kills.has(p));
    assert.deepEqual(missed, [], 'points no case reached');
  });
});

/** One line per point (kills, violations) and a total: the figures the README quotes. */
function printSummary(runs: { group: string; point: FaultPointName; violations: string[] }[]): void {
  const bad = (rs: typeof runs) => rs.reduce((n, r) => n + r.violations.length, 0);
  const points = Object.keys(FAULT_POINTS) as FaultPointName[];
  console.log('    point                              kills  violations');
  for (const p of points) {
    const of = runs.filter((r) => r.point === p);
    console.log(`    ${p.padEnd(36)} ${String(of.length).padStart(5)}  ${String(bad(of)).padStart(10)}`);
  }
  const byGroup = [...new Set(runs.map((r) => r.group))].map((g) => `${g} ${runs.filter((r) => r.group === g).length}`).join(', ');
  const hit = new Set(runs.map((r) => r.point)).size;
  console.log(`    kill-point campaign: ${hit} of ${points.length} points, ${runs.length} kills (${byGroup}), ${bad(runs)} violations`);
}
