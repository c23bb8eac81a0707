// A simulated appliance in use is never deleted or rebuilt under its user: `abu sim remove`, `abu sim create` and
// `abu serve --sim` refuse while a daemon serves the folder or another process holds its appliance lock.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ABU, background, runProcess, type Background } from '../../helpers/processes';

const LOCK_MODULE = path.resolve(__dirname, '../../../engine/state/appliance-lock.js');

describe('simulated appliance folder in use', function () {
  this.timeout(60_000);
  let root: string;
  let dir: string;

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-simdir-'));
    dir = path.join(root, 'demo');
    assert.equal((await runProcess(ABU, ['sim', 'create', dir])).status, 0);
  });
  afterEach(async () => fs.rm(root, { recursive: true, force: true }));

  /** The files a running service depends on are all still there. */
  async function assertIntact(): Promise<void> {
    for (const f of ['disk.img', 'config.json', 'state/state.json']) assert.ok(existsSync(path.join(dir, f)), `${f} still there`);
  }

  it('refuses to remove or recreate a folder a daemon serves, then removes it once the daemon stopped', async () => {
    const serve = background(ABU, ['serve', '--sim', dir, '--port', '0', '--json']);
    try {
      const { url, tokenFile } = JSON.parse(await serve.waitFor(/^\{/)) as { url: string; tokenFile: string };
      for (const args of [['sim', 'remove', dir], ['sim', 'create', dir]]) {
        const r = await runProcess(ABU, args);
        assert.equal(r.status, 1, `abu ${args.join(' ')} is refused`);
        assert.match(r.stderr, new RegExp(`ABU_ERR_BUSY: .*abu serve at ${url} \\(pid ${serve.child.pid}\\)`));
      }
      await assertIntact();
      assert.ok(existsSync(path.join(dir, 'state/daemon.json')) && existsSync(tokenFile), 'the daemon keeps its runtime and token files');
      assert.equal((await fetch(`${url}/api/status`)).status, 200, 'the daemon still serves');
      const second = await runProcess(ABU, ['serve', '--sim', dir, '--port', '0']);
      assert.equal(second.status, 1, 'a second service on the same appliance is refused');
      assert.match(second.stderr, /ABU_ERR_BUSY: .*already serves/);
    } finally {
      assert.equal(await serve.stop(), 0);
    }
    const r = await runProcess(ABU, ['sim', 'remove', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!existsSync(dir));
  });

  it('refuses while another process holds the appliance lock, then removes it once released', async () => {
    const script = `const { ApplianceLock } = require(${JSON.stringify(LOCK_MODULE)});
      new ApplianceLock(${JSON.stringify(path.join(dir, 'state'))}, 'abu (CLI --direct)').acquire('install').then(() => console.log('locked'));
      process.on('SIGINT', () => process.exit(0));
      setInterval(() => undefined, 1000);`;
    const holder: Background = background(process.execPath, ['-e', script]);
    try {
      await holder.waitFor(/^locked$/);
      const r = await runProcess(ABU, ['sim', 'remove', dir]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`ABU_ERR_BUSY: .*"install" by abu \\(CLI --direct\\) \\(pid ${holder.child.pid}\\)`));
      await assertIntact();
    } finally {
      await holder.stop();
    }
    assert.equal((await runProcess(ABU, ['sim', 'remove', dir])).status, 0);
    assert.ok(!existsSync(dir));
  });

  it('never removes a folder holding anything a simulated appliance does not', async () => {
    await fs.writeFile(path.join(dir, 'notes.txt'), 'mine');
    const r = await runProcess(ABU, ['sim', 'remove', dir]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /ABU_ERR_USAGE: not removing .*not a simulated appliance \(it holds notes\.txt\)/);
    await assertIntact();
  });

  it('treats a missing folder as removed', async () => {
    assert.equal((await runProcess(ABU, ['sim', 'remove', path.join(root, 'never-made')])).status, 0);
  });
});
