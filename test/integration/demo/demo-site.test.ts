// `scripts/demo --site` as a user runs it: seven simulated appliances (two data centers of two, a three-node cluster
// with one HA pair), each answering on the URL it printed with the token it printed; Ctrl-C stops every one.
// The site goes to a temporary folder ($ABU_DEMO_DIR + "-site") on free ports ($ABU_PORT=0).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { background, withoutAbuEnv, type Background } from '../../helpers/processes';
import { REPO_ROOT } from '../../helpers/readme';

const DEMO = path.join(REPO_ROOT, 'scripts/demo');
const MEMBER_LINE = /^ {2}(\S+)( \*)?\s+(\S+)\s+(primary|secondary|node)\s+(\S+)\s+(\S+)\s+(http:\/\/127\.0\.0\.1:\d+)\s+(\S+)$/gm;

describe('scripts/demo --site', function () {
  // scripts/demo runs scripts/setup first: a TypeScript build when dist/ was compiled by hand since the last setup.
  this.timeout(180_000);
  let root: string;
  let demo: Background;
  let members: { name: string; coordinator: boolean; dataCenter: string; role: string; haGroup: string; url: string; token: string }[] = [];

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-demo-site-'));
    demo = background(DEMO, ['--site'], { env: withoutAbuEnv({ ABU_DEMO_DIR: path.join(root, '.abu-demo'), ABU_PORT: '0' }) });
    await demo.waitFor(/Ctrl-C stops every appliance/);
    members = [...demo.output().matchAll(MEMBER_LINE)].map((m) => ({ name: m[1], coordinator: m[2] !== undefined, dataCenter: m[3], role: m[4], haGroup: m[6], url: m[7], token: m[8] }));
  });
  after(async () => {
    if (demo) await demo.stop();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('prints two data centers of two appliances and a three-node cluster with one HA pair, in its own folder', () => {
    assert.deepEqual(members.map((m) => [m.name, m.dataCenter, m.role, m.haGroup]), [
      ['dc1-primary', 'dc1', 'primary', '-'], ['dc1-secondary', 'dc1', 'secondary', '-'], ['dc2-primary', 'dc2', 'primary', '-'], ['dc2-secondary', 'dc2', 'secondary', '-'],
      ['cluster-1', 'cluster', 'primary', '-'], ['cluster-2', 'cluster', 'node', 'ha1'], ['cluster-3', 'cluster', 'node', 'ha1'],
    ]);
    assert.deepEqual(members.filter((m) => m.coordinator).map((m) => m.name), ['dc1-primary']);
    assert.match(demo.output(), new RegExp(`simulated site in ${path.join(root, '.abu-demo-site')}:`));
    assert.match(demo.output(), /System patches {2}http:\/\/127\.0\.0\.1:\d+\/site\.html#token=\S+/);
  });

  it('every appliance answers on its URL as itself and takes its own printed token', async () => {
    for (const m of members) {
      const site = (await (await fetch(`${m.url}/api/site`)).json()) as { self: string; coordinator: string };
      assert.deepEqual([site.self, site.coordinator], [m.name, 'dc1-primary']);
      // Nothing runs, so a cancel with the right token is "nothing to cancel" (409), with a wrong one 401.
      const cancel = await fetch(`${m.url}/api/cancel`, { method: 'POST', headers: { authorization: `Bearer ${m.token}` } });
      assert.deepEqual([m.name, cancel.status], [m.name, 409]);
    }
    const coordinator = members.find((m) => m.coordinator)!;
    const status = (await (await fetch(`${coordinator.url}/api/site/status`)).json()) as { members: { name: string; reachable: boolean; version: string }[] };
    assert.deepEqual(status.members.map((m) => [m.name, m.reachable, m.version]), members.map((m) => [m.name, true, '1.0.0']));
  });

  it('Ctrl-C stops every appliance', async () => {
    await demo.stop();
    for (const m of members) await assert.rejects(fetch(`${m.url}/api/status`), `${m.name} still answers`);
  });
});
