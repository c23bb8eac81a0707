// Sites, part 3: the operator's CLI (abu site status|upload|install, abu cluster status) against the coordinator's
// daemon, run where the coordinator runs (inside its network namespace when the site has them).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sharedSite } from './shared-site';
import type { SiteHarness } from './site-harness';
import { COORDINATOR } from './site-steps';

const run = promisify(execFile);
const ABU = path.resolve(__dirname, '../../../../bin/abu');

async function abu(h: SiteHarness, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const m = h.member(COORDINATOR);
  const argv = h.net.wrap([process.execPath, ABU, ...args, '--config', m.sim.configPath], m.proc.endpoint.ns);
  try {
    const { stdout, stderr } = await run(argv[0], argv.slice(1), { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

export function cliCases(): void {
  describe('abu site / abu cluster commands', function () {
    this.timeout(90_000);
    const site = sharedSite();

    it('abu site upload --wait replicates to n/m; abu site status shows members and the Replications column', async () => {
      const h = site();
      const up = await abu(h, 'site', 'upload', h.bundles.v120, '--wait');
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, /^[0-9a-f]{64} 6\/6\n$/);
      assert.match(up.stderr, /replications \d\/6/);
      const st = await abu(h, 'site', 'status');
      assert.equal(st.code, 0, st.stderr);
      assert.match(st.stdout, /^dc2-c\s+dc2\s+node\s+globex\s+ha2\s+1\.0\.0\s+up$/m);
      assert.match(st.stdout, /^1\.2\.0\s+[0-9a-f]{12}\s+[\d.]+ MiB\s+6\/6$/m);
    });

    it('abu site install names each member that refuses and why (exit 1)', async () => {
      const h = site();
      const r = await abu(h, 'site', 'install', '1.2.0', '--org', 'globex', '--dc', 'dc1', '--no-activate');
      assert.equal(r.code, 1);
      assert.match(r.stdout, /^ {2}refused {4}dc1-c: ABU_ERR_MISSING_VERSIONS: dc1-c: .*1\.1\.0/m);
      assert.doesNotMatch(r.stdout, /dc2-c/);
    });

    it('abu cluster status shows the last rollout per member', async () => {
      const r = await abu(site(), 'cluster', 'status');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^switch-back: succeeded, HA mode$/m);
      assert.match(r.stdout, /^ {2}dc1-a\s+healthy\s+healthy on 1\.0\.0$/m);
    });

    it('--json: site status, site install and cluster status print one JSON document each', async () => {
      const h = site();
      const st = await abu(h, 'site', 'status', '--json');
      assert.equal(st.code, 0, st.stderr);
      const status = JSON.parse(st.stdout);
      assert.equal(status.members.length, 6);
      const inst = await abu(h, 'site', 'install', '1.2.0', '--org', 'globex', '--dc', 'dc1', '--no-activate', '--json');
      assert.equal(inst.code, 1, inst.stderr);
      assert.ok(JSON.parse(inst.stdout).refused.some((x: { member: string }) => x.member === 'dc1-c'), inst.stdout);
      const cl = await abu(h, 'cluster', 'status', '--json');
      assert.equal(cl.code, 0, cl.stderr);
      assert.equal(JSON.parse(cl.stdout).rollout.kind, 'switch-back');
    });
  });
}
