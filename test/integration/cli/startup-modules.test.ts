// Start-up cost: each CLI command loads only what it uses (no daemon, site layer, etcd or serial port for `abu status`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { tempDir } from '../../helpers/bundle-fixtures';
import { abu, cleanEnv } from './abu-process';

const MIB = 1024 * 1024;
const HOOK = path.resolve(__dirname, '../../helpers/module-list-hook.js');

/** What a command on the appliance itself never needs; loading it all cost `abu status` 0.2 s and 20 MiB. */
const NEVER: Array<[string, RegExp]> = [
  ['fastify (the daemon)', /node_modules\/fastify\//],
  ['etcd3 (the site layer)', /node_modules\/etcd3\//],
  ['serialport', /node_modules\/(@serialport|serialport)\//],
  ['the cluster layer', /dist\/engine\/cluster\//],
  ['the HTTP transport', /dist\/engine\/transports\/http\//],
];

interface Case {
  args: (sim: SimAppliance) => string[];
  /** Also not loaded by this command. */
  notLoaded: Array<[string, RegExp]>;
  /** Loaded: shows the hook saw the command run (lazily loaded modules included), so an empty list cannot pass. */
  loaded: RegExp;
}

const CASES: Record<string, Case> = {
  'status --direct': { args: () => ['status', '--direct'], notLoaded: [['protobufjs (bundles)', /node_modules\/protobufjs\//], ['the installer', /dist\/engine\/install\/installer\.js$/]], loaded: /dist\/engine\/status\.js$/ },
  'history --direct': { args: () => ['history', '--direct'], notLoaded: [['protobufjs (bundles)', /node_modules\/protobufjs\//]], loaded: /dist\/engine\/transports\/cli\/commands\/slot-commands\.js$/ },
  // The HTTP client and child processes cost ~15 ms of an install's start-up; a file install with --direct needs neither.
  'install --direct FILE': {
    args: (sim) => ['install', '--direct', '--no-activate', sim.bundles[0]],
    notLoaded: [
      ['node:http (daemon client, URL source)', /^node:https?$/],
      ['node:child_process (health checks)', /^node:child_process$/],
      ['the whole semver package (its index loads ~45 modules; the policy needs a few functions)', /node_modules\/semver\/index\.js$/],
    ],
    loaded: /node_modules\/protobufjs\//,
  },
};

describe('CLI start-up: each command loads only what it uses', function () {
  this.timeout(120_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let sim: SimAppliance;
  before(async () => {
    tmp = await tempDir('abu-cli-startup-');
    sim = await createSimAppliance(path.join(tmp.dir, 'sim'), { slotSize: 4 * MIB, imageSize: 1 * MIB });
  });
  after(async () => tmp.cleanup());

  for (const [name, c] of Object.entries(CASES)) {
    it(`abu ${name}`, async () => {
      const list = path.join(tmp.dir, `modules-${name.replace(/\W+/g, '-')}.json`);
      const env = cleanEnv({ ABU_CONFIG: sim.configPath, ABU_TEST_MODULE_LIST: list, NODE_OPTIONS: `--require ${HOOK}` });
      const r = await abu(c.args(sim), { env });
      assert.equal(r.code, 0, r.stderr);
      const modules = JSON.parse(readFileSync(list, 'utf8')) as string[];
      assert.ok(modules.some((m) => c.loaded.test(m)), `the module list misses ${c.loaded}: the hook did not see the command run`);
      for (const [what, pattern] of [...NEVER, ...c.notLoaded]) {
        const hit = modules.find((m) => pattern.test(m));
        assert.equal(hit, undefined, `abu ${name} loaded ${what}: ${hit}`);
      }
    });
  }
});
