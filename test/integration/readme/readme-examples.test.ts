// Every shell example in README.md runs as written against a fresh demo: the service `scripts/demo` starts.
//
// The convention (README authors: keep to it):
// - every fenced ```sh (bash, shell) block is an example and runs, in document order, from the checkout's root,
//   each block as one `bash -euo pipefail` script; exported variables carry over to the next block, as in a terminal;
// - a block that cannot run in a test (it is the entry point itself, or needs a machine) is preceded by
//   `<!-- readme-test: skip (the reason) -->`, and is reported as pending with that reason;
// - a CLI example in prose (an inline `bin/abu ...` span outside tables) belongs in a block, or nothing checks it.
// What differs from a user's terminal: the service listens on a free port instead of 8080 (tests run beside a
// developer's demo), so `http://127.0.0.1:8080` in an example is rewritten to it; and the checkout is a folder
// of symlinks to the real one, so the test's `.abu-demo/` never touches a developer's.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { background, runProcess, type Background } from '../../helpers/processes';
import { inlineCliExamples, readReadme, REPO_ROOT, shellBlocks, type ShellBlock } from '../../helpers/readme';

const readme = readReadme();
const blocks = shellBlocks(readme);

describe('README examples on a fresh demo', function () {
  this.timeout(120_000); // per example: installs of 24 MiB images with read-back, on a shared machine
  let checkout: string;
  let daemon: Background | undefined;
  let url: string;

  before(async () => {
    checkout = await fakeCheckout();
    // What scripts/demo runs after setup and removing the old appliance; --port 0 instead of 8080.
    daemon = background(path.join(checkout, 'bin/abu'), ['serve', '--sim', '.abu-demo', '--port', '0', '--json'], { cwd: checkout });
    url = (JSON.parse(await daemon.waitFor(/^\{/)) as { url: string }).url;
  });

  after(async () => {
    await daemon?.stop();
    if (checkout) await fs.rm(checkout, { recursive: true, force: true });
  });

  it('has shell examples to run, among them a CLI install, and no CLI example left in prose', () => {
    const run = blocks.filter((b) => !b.skip);
    assert.ok(run.length > 0, 'README has no ```sh block outside the skipped ones');
    assert.ok(run.some((b) => /\bbin\/abu install\b/.test(b.code)), 'a run example installs a bundle with the CLI');
    assert.deepEqual(inlineCliExamples(readme), [], 'inline `bin/abu ...` examples in prose: move them into a ```sh block');
  });

  for (const block of blocks) {
    const title = `README line ${block.line}: ${firstCommand(block)}`;
    if (block.skip) it(`${title} (skipped: ${block.skip})`);
    else it(title, async () => runBlock(block, checkout, url));
  }
});

/** A temporary folder that looks like the checkout: a symlink to each top-level entry, but its own demo folders. */
async function fakeCheckout(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-readme-'));
  for (const entry of await fs.readdir(REPO_ROOT)) {
    if (entry.startsWith('.abu-demo') || entry === '.git') continue;
    await fs.symlink(path.join(REPO_ROOT, entry), path.join(dir, entry));
  }
  return dir;
}

function firstCommand(block: ShellBlock): string {
  const line = block.code.split('\n').find((l) => l.trim() && !l.trim().startsWith('#')) ?? '';
  return line.replace(/\s+#.*$/, '').trim();
}

/**
 * Runs one block in bash, from the fake checkout, with the variables earlier blocks exported; on failure the
 * assertion names the README line of the command that failed (ERR trap) and shows the output.
 */
async function runBlock(block: ShellBlock, checkout: string, url: string): Promise<void> {
  const envFile = path.join(checkout, '.readme-env');
  const code = block.code.replace(/http:\/\/(127\.0\.0\.1|localhost):8080/g, url);
  const script = [
    'set -euo pipefail',
    `[[ -f ${envFile} ]] && source ${envFile}`,
    `trap 'echo "README line $((${block.line} + LINENO - 3)): exit $? from: $BASH_COMMAND" >&2' ERR`,
    code,
    `export -p > ${envFile}`,
  ].join('\n');
  const r = await runProcess('bash', ['-c', script], { cwd: checkout, timeoutMs: 90_000 });
  assert.equal(r.status, 0, `README example at line ${block.line} failed:\n${r.stdout}${r.stderr}`);
}
