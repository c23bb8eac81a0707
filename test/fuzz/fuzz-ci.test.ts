// CI's share of the fuzz campaign: every target for 30 s, the native ones under libFuzzer with ASan and UBSan
// (all in one go), then the JavaScript ones under fast-check. The long runs are scripts/fuzz --long.
// Pass means no crash, no sanitizer report and no untyped error; executions are not asserted (a busy machine runs fewer).
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fuzzTarget, REPO, TARGETS } from '../../fuzz/js/run';

const SECONDS = 30;
const OUT = path.join(REPO, 'build', 'fuzz');

function nativeTargets(): string[] {
  return readdirSync(path.join(REPO, 'fuzz', 'native')).filter((f) => f.endsWith('.cc')).map((f) => f.slice(0, -3));
}

/** One libFuzzer run: resolves with its exit code and the tail of its log. */
function runNative(target: string): Promise<{ target: string; code: number | null; log: string }> {
  const artifacts = path.join(OUT, 'ci-artifacts', target);
  const corpus = path.join(OUT, 'ci-corpus', target);
  rmSync(corpus, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  mkdirSync(corpus, { recursive: true });
  const args = [`-max_total_time=${SECONDS}`, '-timeout=10', '-rss_limit_mb=2048', `-artifact_prefix=${artifacts}/`, corpus, path.join(REPO, 'fuzz', 'corpus', target)];
  return new Promise((resolve) => {
    const child = spawn(path.join(OUT, target), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
    child.on('close', (code) => resolve({ target, code, log }));
  });
}

describe(`fuzzing (${SECONDS} s per target)`, function () {
  this.timeout(15 * 60_000);

  it('native: every libFuzzer target (ASan + UBSan) runs without a crash or sanitizer report', async function () {
    if (spawnSync('clang++', ['--version']).status !== 0) this.skip(); // CI installs clang (scripts/setup --test)
    const build = spawnSync(path.join(REPO, 'fuzz', 'native', 'build'), { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    // All at once, so the native share costs 30 s of wall time whatever the number of targets; each gets fewer
    // executions than alone, which the long runs (scripts/fuzz --long) make up for.
    const results = await Promise.all(nativeTargets().map(runNative));
    for (const r of results) {
      assert.equal(r.code, 0, `native/${r.target} failed:\n${r.log}`);
      assert.doesNotMatch(r.log, /ERROR: AddressSanitizer|runtime error:|property violated/, `native/${r.target}`);
    }
  });

  for (const target of TARGETS) {
    it(`js/${target.name}: every input parses or throws a typed AbuError`, async () => {
      const r = await fuzzTarget(target, SECONDS);
      assert.equal(r.failures, 0, `${r.failure} (input saved to ${r.crasher})`);
      assert.ok(r.executions > 0);
    });
  }
});
