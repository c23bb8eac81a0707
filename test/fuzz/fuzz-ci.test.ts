// CI's share of the fuzz campaign: every target for 30 s, the native ones under libFuzzer with ASan and UBSan
// (all in one go, in the background), the JavaScript ones under fast-check meanwhile. The long runs are scripts/fuzz --long.
// Pass means no crash, no sanitizer report and no untyped error; executions are not asserted (a busy machine runs fewer).
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fuzzTarget, REPO, TARGETS } from '../../fuzz/js/run';

const SECONDS = 30;
const OUT = path.join(REPO, 'build', 'fuzz');

function nativeTargets(): string[] {
  return readdirSync(path.join(REPO, 'fuzz', 'native')).filter((f) => f.endsWith('.cc')).map((f) => f.slice(0, -3));
}

/** One libFuzzer run: resolves with its exit code and the tail of its log. */
function runNative(target: string): Promise<NativeResult> {
  const artifacts = path.join(OUT, 'ci-artifacts', target);
  const corpus = path.join(OUT, 'ci-corpus', target);
  rmSync(corpus, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  mkdirSync(corpus, { recursive: true });
  const args = [`-max_total_time=${SECONDS}`, '-timeout=10', '-rss_limit_mb=2048', `-artifact_prefix=${artifacts}/`, corpus, path.join(REPO, 'fuzz', 'corpus', target)];
  // The log goes to a file, not a pipe: while a JavaScript target keeps this event loop busy nobody would drain a
  // pipe, and libFuzzer would block on a full one.
  const logFile = path.join(OUT, `ci-${target}.log`);
  const fd = openSync(logFile, 'w');
  return new Promise((resolve) => {
    const child = spawn(path.join(OUT, target), args, { stdio: ['ignore', 'ignore', fd] });
    closeSync(fd);
    child.on('close', (code) => resolve({ target, code, log: readFileSync(logFile, 'utf8').slice(-4000) }));
  });
}

type NativeResult = { target: string; code: number | null; log: string };

function haveClang(): boolean {
  return spawnSync('clang++', ['--version']).status === 0;
}

describe(`fuzzing (${SECONDS} s per target)`, function () {
  this.timeout(15 * 60_000);
  // The native targets fuzz in child processes, all at once, while the JavaScript targets run here: the whole
  // share costs the build plus the JavaScript targets' time. Awaited and checked by the last test.
  let native: Promise<NativeResult[]> | undefined;
  before(() => {
    if (!haveClang()) return; // CI installs clang (scripts/setup --test)
    const build = spawnSync(path.join(REPO, 'fuzz', 'native', 'build'), { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    native = Promise.all(nativeTargets().map(runNative));
  });

  for (const target of TARGETS) {
    it(`js/${target.name}: every input parses or throws a typed AbuError`, async () => {
      const r = await fuzzTarget(target, SECONDS);
      assert.equal(r.failures, 0, `${r.failure} (input saved to ${r.crasher})`);
      assert.ok(r.executions > 0);
    });
  }

  it('native: every libFuzzer target (ASan + UBSan) ran without a crash or sanitizer report', async function () {
    if (!native) this.skip();
    for (const r of await native) {
      assert.equal(r.code, 0, `native/${r.target} failed:\n${r.log}`);
      assert.doesNotMatch(r.log, /ERROR: AddressSanitizer|runtime error:|property violated/, `native/${r.target}`);
    }
  });
});
