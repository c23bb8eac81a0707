// Wall-time figures of the system suite, printed and kept in test-artifacts/system/timings.json for the CI log.
import * as fs from 'node:fs';
import * as path from 'node:path';

const FILE = path.resolve(__dirname, '..', '..', '..', 'test-artifacts', 'system', 'timings.json');

export function recordTiming(what: string, ms: number): void {
  console.log(`      timing: ${what}: ${(ms / 1000).toFixed(1)} s`);
  fs.mkdirSync(path.dirname(FILE), { recursive: true });
  let all: Record<string, number> = {};
  try { all = JSON.parse(fs.readFileSync(FILE, 'utf8')) as Record<string, number>; } catch { /* first figure of this run */ }
  all[what] = Math.round(ms) / 1000;
  fs.writeFileSync(FILE, JSON.stringify(all, null, 2) + '\n');
}
