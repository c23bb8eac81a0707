// scripts/demo as a user runs it: the service's printout names all three bundles with their purpose, and neither
// `scripts/demo --cli` nor a second `scripts/demo` beside it deletes the running service's appliance.
// The appliance goes to a temporary folder ($ABU_DEMO_DIR) on a free port ($ABU_PORT=0), never the checkout's .abu-demo/.
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { background, runProcess, withoutAbuEnv, type Background } from '../../helpers/processes';
import { REPO_ROOT } from '../../helpers/readme';

const DEMO = path.join(REPO_ROOT, 'scripts/demo');

describe('scripts/demo', function () {
  // scripts/demo runs scripts/setup first: a TypeScript build when dist/ was compiled by hand since the last setup.
  this.timeout(180_000);
  let root: string;
  let env: NodeJS.ProcessEnv;
  let demo: Background;
  let url: string;

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-demo-script-'));
    env = withoutAbuEnv({ ABU_DEMO_DIR: path.join(root, '.abu-demo'), ABU_PORT: '0' });
    demo = background(DEMO, [], { env });
    url = /listening on (\S+)/.exec(await demo.waitFor(/listening on /))![1];
    await demo.waitFor(/Ctrl-C stops the service/);
  });
  after(async () => {
    if (demo) await demo.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('prints all three bundles, the broken 1.1.0 too, each with what it is for', () => {
    const lines = demo.output().split('\n');
    for (const [label, file, purpose] of [
      ['1.1.0', 'abu-demo-appliance-1.1.0.abu', /install first/],
      ['1.2.0', 'abu-demo-appliance-1.2.0.abu', /irreversible/],
      ['1.1.0 broken', 'abu-demo-appliance-1.1.0-broken.abu', /fails its health check/],
    ] as const) {
      const at = lines.findIndex((l) => l.trim().startsWith(`${label} `) && l.endsWith(path.join(root, '.abu-demo', 'bundles', file)));
      assert.ok(at >= 0, `a line "${label}  .../${file}" in:\n${demo.output()}`);
      assert.match(lines[at + 1], purpose);
    }
  });

  it('--cli walks through its own .abu-demo-cli/ and leaves the running service and its files alone', async () => {
    const r = await runProcess(DEMO, ['--cli'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /installed 1\.1\.0 into slot B/);
    assert.ok(existsSync(path.join(root, '.abu-demo-cli', 'disk.img')));
    await assertServiceIntact();
  });

  it('a second scripts/demo is refused instead of deleting the running one', async () => {
    const r = await runProcess(DEMO, [], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`ABU_ERR_BUSY: not removing .*abu serve at ${url}`));
    await assertServiceIntact();
  });

  async function assertServiceIntact(): Promise<void> {
    const state = path.join(root, '.abu-demo', 'state');
    for (const f of ['daemon.json', 'http-token', 'state.json']) assert.ok(existsSync(path.join(state, f)), `${f} still there`);
    assert.ok(existsSync(path.join(root, '.abu-demo', 'disk.img')));
    const token = (await fs.readFile(path.join(state, 'http-token'), 'utf8')).trim();
    const status = (await (await fetch(`${url}/api/status`)).json()) as { booted: string };
    assert.equal(status.booted, 'A', 'the service still runs on its own, untouched appliance');
    const cancel = await fetch(`${url}/api/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.notEqual(cancel.status, 401, 'the token file still matches the service');
  }
});
