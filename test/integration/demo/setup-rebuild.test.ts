// scripts/setup rebuilds only what changed: a second run skips the addon and the TypeScript build, and a changed
// TypeScript or C++ source rebuilds exactly its own output. Runs on a copy of the checkout (its own dist/ and build/),
// so the checkout the tests run from is never rebuilt under them.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runProcess } from '../../helpers/processes';
import { REPO_ROOT } from '../../helpers/readme';

/** What a fresh clone holds, plus dist/ (with its input digest) so the first TypeScript build is skipped. */
const SKIP = new Set(['node_modules', '.git', 'build', 'test-artifacts', '.cache']);

describe('scripts/setup', function () {
  // One full addon build and one TypeScript build, plus an incremental addon build, on a shared machine.
  this.timeout(300_000);
  let copy: string;

  before(async () => {
    copy = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-setup-'));
    for (const entry of await fs.readdir(REPO_ROOT)) {
      if (SKIP.has(entry) || entry.startsWith('.abu-demo')) continue;
      await fs.cp(path.join(REPO_ROOT, entry), path.join(copy, entry), { recursive: true, preserveTimestamps: true });
    }
    // Shared, as in the worktrees: setup must leave a symlinked node_modules alone.
    await fs.symlink(await fs.realpath(path.join(REPO_ROOT, 'node_modules')), path.join(copy, 'node_modules'));
  });
  after(async () => {
    if (copy) await fs.rm(copy, { recursive: true, force: true });
  });

  async function setup(): Promise<string> {
    const r = await runProcess(path.join(copy, 'scripts/setup'), [], { cwd: copy, timeoutMs: 280_000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return r.stdout;
  }
  const addonMtime = async () => (await fs.stat(path.join(copy, 'build/Release/abu_native.node'))).mtimeMs;

  it('builds what is missing, then skips both builds when nothing changed', async () => {
    assert.match(await setup(), /building the native addon/);
    const built = await addonMtime();
    const again = await setup();
    assert.match(again, /native addon up to date/);
    assert.match(again, /TypeScript up to date/);
    assert.equal(await addonMtime(), built, 'the addon was not rebuilt');
  });

  it('a changed TypeScript file recompiles the TypeScript only', async () => {
    await fs.appendFile(path.join(copy, 'engine/core/pid.ts'), '// setup-rebuild test marker\n');
    const built = await addonMtime();
    const out = await setup();
    assert.match(out, /compiling TypeScript/);
    assert.match(out, /native addon up to date/);
    assert.match(await fs.readFile(path.join(copy, 'dist/engine/core/pid.js'), 'utf8'), /setup-rebuild test marker/);
    assert.equal(await addonMtime(), built);
  });

  it('a changed C++ source rebuilds the addon only', async () => {
    await fs.appendFile(path.join(copy, 'native/src/file_lock.cc'), '// setup-rebuild test marker\n');
    const built = await addonMtime();
    const out = await setup();
    assert.match(out, /building the native addon/);
    assert.match(out, /TypeScript up to date/);
    assert.ok((await addonMtime()) > built, 'the addon was relinked');
    assert.match(await setup(), /native addon up to date/);
  });
});
