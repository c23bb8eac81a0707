// Profile of one site replication run (ABU_BENCH_SITE_PROFILE=1): CPU seconds per process and when each member
// received its replica, relative to the start of the upload (or of the parallel curl uploads).
import { promises as fs } from 'node:fs';
import { call, type Api } from './site-bench-support';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS = 100;

export interface CpuSample {
  [name: string]: number;
}

/** utime + stime of each process, in seconds. */
export async function cpuOf(pids: Record<string, number>): Promise<CpuSample> {
  const out: CpuSample = {};
  for (const [name, pid] of Object.entries(pids)) {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out[name] = (Number(fields[11]) + Number(fields[12])) / TICKS;
  }
  return out;
}

export function cpuDelta(before: CpuSample, after: CpuSample): CpuSample {
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
}

export interface MemberTimes {
  member: string;
  /** Seconds from t0 to the first byte (absent for the coordinator's upload) and to the verified replica. */
  firstByte: number | null;
  verified: number;
}

/** When each member's replica of `sha` began arriving and was verified, from its own store's metadata. */
export async function timeline(members: { name: string; url: string }[], token: string, sha: string, t0Wall: number): Promise<MemberTimes[]> {
  return Promise.all(members.map(async (m) => {
    const api: Api = { url: m.url, token };
    const { replicas } = await call<{ replicas: { sha256: string; storedAt: string; receivingSince?: string }[] }>(api, 'GET', '/api/site/peer/replicas');
    const r = replicas.find((x) => x.sha256 === sha);
    if (!r) return { member: m.name, firstByte: null, verified: NaN };
    const at = (iso: string) => (Date.parse(iso) - t0Wall) / 1000;
    return { member: m.name, firstByte: r.receivingSince ? at(r.receivingSince) : null, verified: at(r.storedAt) };
  }));
}

export function printProfile(label: string, cpu: CpuSample, times: MemberTimes[], wall: number): void {
  const total = Object.values(cpu).reduce((a, b) => a + b, 0);
  const parts = Object.entries(cpu).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
  process.stderr.write(`    ${label}: wall ${wall.toFixed(2)} s, CPU ${total.toFixed(2)} s (${parts})\n`);
  for (const t of times) {
    process.stderr.write(`      ${t.member.padEnd(4)} first byte ${t.firstByte === null ? '   -  ' : t.firstByte.toFixed(2).padStart(6)} s  verified ${t.verified.toFixed(2).padStart(6)} s\n`);
  }
}

/** Parses the children's times printed by the shell's `times` after curl exits ("0m1.234s 0m0.100s" on its last line). */
export function childTimes(stderr: string): number {
  const lines = stderr.trim().split('\n');
  const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(lines[lines.length - 1] ?? '');
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : 0;
}
