// --json on every command: one valid JSON document on stdout, for a success and for an error, directly and through the daemon.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { commandTable } from '../../../engine/transports/cli/commands';
import { startDaemon, type Daemon } from '../../../engine/transports/http/daemon';
import { imageBytes, tempDir } from '../../helpers/bundle-fixtures';
import { abu, assertNoStack, cleanEnv, serve, type AbuRun } from './abu-process';

const MIB = 1024 * 1024;

interface Row {
  /** The command's name in the command table ("bundle create"). */
  command: string;
  args: string[];
  /** A success: checks on the parsed document. An error: the code in {"error": {...}}. */
  ok?: (doc: any) => void;
  error?: string;
}

/** The engine commands in an order that makes each one meaningful on a fresh appliance. */
function engineRows(sim: SimAppliance): Row[] {
  return [
    { command: 'status', args: ['status'], ok: (d) => assert.equal(d.product, 'abu-demo-appliance') },
    { command: 'install', args: ['install', sim.bundles[0], '--no-activate'], ok: (d) => assert.deepEqual([d.version, d.slot, d.activated], ['1.1.0', 'B', false]) },
    { command: 'activate', args: ['activate'], ok: (d) => assert.deepEqual([d.slot, d.changed], ['B', true]) },
    { command: 'history', args: ['history', '-n', '2'], ok: (d) => assert.deepEqual(d.map((h: any) => h.kind), ['activate', 'install']) },
    { command: 'mark-bad', args: ['mark-bad', 'B'], ok: (d) => assert.equal(d.markedBad, 'B') },
    { command: 'mark-good', args: ['mark-good'], ok: (d) => assert.equal(d.markedGood, 'booted') },
    { command: 'boot-check', args: ['boot-check'], ok: (d) => assert.equal(d.booted, 'A') },
    { command: 'reboot', args: ['reboot'], ok: (d) => assert.equal(d.rebooting, true) },
    { command: 'status', args: ['status', '--config', '/nonexistent/config.json'], error: 'ABU_ERR_CONFIG' },
    { command: 'install', args: ['install', 'missing.abu'], error: 'ABU_ERR_FILE' },
    { command: 'activate', args: ['activate', 'Z'], error: 'ABU_ERR_SLOT_UNKNOWN' },
    { command: 'history', args: ['history', '-n', 'x'], error: 'ABU_ERR_USAGE' },
    { command: 'mark-bad', args: ['mark-bad', 'Z'], error: 'ABU_ERR_SLOT_UNKNOWN' },
    { command: 'mark-good', args: ['mark-good', 'Z'], error: 'ABU_ERR_SLOT_UNKNOWN' },
    { command: 'boot-check', args: ['boot-check', 'now'], error: 'ABU_ERR_USAGE' },
    { command: 'reboot', args: ['reboot', 'now'], error: 'ABU_ERR_USAGE' },
  ];
}

const SITE_COMMANDS = [['site', 'status'], ['site', 'upload', 'b.abu'], ['site', 'install', '1.0.0'], ['cluster', 'activate'], ['cluster', 'switch-back'], ['cluster', 'status']];

/** Commands that do not touch an appliance, and the site commands without a site. */
function toolRows(dir: string): Row[] {
  const bundle = ['bundle', 'create', '--product', 'p', '--version', '1.0.0', '--key', 'k/demo.key', '--image', 'rootfs:rootfs:root.img'];
  return [
    { command: 'keygen', args: ['keygen', '--out', 'k'], ok: (d) => assert.match(d.keyId, /^[0-9a-f]{16}$/) },
    { command: 'keygen', args: ['keygen'], error: 'ABU_ERR_USAGE' },
    { command: 'bundle create', args: [...bundle, '--out', 'b.abu'], ok: (d) => assert.equal(d.path, path.join(dir, 'b.abu')) },
    { command: 'bundle create', args: bundle, error: 'ABU_ERR_USAGE' },
    { command: 'bundle inspect', args: ['bundle', 'inspect', 'b.abu', '--keyring', 'k'], ok: (d) => assert.equal(d.valid, true) },
    { command: 'bundle inspect', args: ['bundle', 'inspect', 'root.img', '--keyring', 'k'], error: 'ABU_ERR_BUNDLE_MAGIC' },
    { command: 'sim', args: ['sim', 'create', 'sim2'], ok: (d) => assert.equal(d.configPath, path.join(dir, 'sim2', 'config.json')) },
    { command: 'sim', args: ['sim', 'make', 'sim3'], error: 'ABU_ERR_USAGE' },
    { command: 'serve', args: ['serve', '--port', '70000'], error: 'ABU_ERR_USAGE' },
    { command: 'console', args: ['console', '--device', path.join(dir, 'no-tty')], error: 'ABU_ERR_SERIAL_DEVICE' },
    { command: 'console', args: ['console', 'push', '--device', path.join(dir, 'no-tty'), 'b.abu'], error: 'ABU_ERR_SERIAL_DEVICE' },
    { command: 'sim', args: ['sim', 'create', 'sim-gone'], ok: (d) => assert.equal(d.configPath, path.join(dir, 'sim-gone', 'config.json')) },
    { command: 'sim', args: ['sim', 'remove', 'sim-gone'], ok: (d) => assert.deepEqual(d, { removed: path.join(dir, 'sim-gone'), existed: true }) },
    { command: 'sim', args: ['sim', 'remove', 'sim-gone'], ok: (d) => assert.deepEqual(d, { removed: path.join(dir, 'sim-gone'), existed: false }) },
    { command: 'sim', args: ['sim', 'remove', 'k'], error: 'ABU_ERR_USAGE' },
    // Site commands go through the coordinator's daemon: without one they fail with a typed error. Their successes
    // (with --json) are checked against a real site in test/integration/cluster/cli-cases.ts.
    ...SITE_COMMANDS.map((c): Row => ({ command: c.slice(0, 2).join(' '), args: [...c, '--config', path.join(dir, 'sim2-missing', 'config.json')], error: 'ABU_ERR_DAEMON' })),
  ];
}

function check(row: Row, r: AbuRun): void {
  const context = `abu ${row.args.join(' ')}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  let doc: any;
  assert.doesNotThrow(() => (doc = JSON.parse(r.stdout)), `stdout is not one JSON document: ${context}`);
  if (row.ok) {
    assert.equal(r.code, 0, context);
    row.ok(doc);
    return;
  }
  assert.equal(r.code, row.error === 'ABU_ERR_USAGE' ? 2 : 1, context);
  assert.equal(doc.error?.code, row.error, context);
  assertNoStack(r);
}

describe('CLI: --json on every command', function () {
  this.timeout(180_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;

  before(async () => {
    tmp = await tempDir('abu-cli-json-');
    await fs.writeFile(path.join(tmp.dir, 'root.img'), imageBytes(100_000));
  });
  after(async () => tmp.cleanup());

  it('has a success and an error row for every command in the command table', async () => {
    const rows = [...engineRows({ bundles: [] } as unknown as SimAppliance), ...toolRows(tmp.dir)];
    for (const name of commandTable().keys()) {
      const elsewhere = name === 'serve' || name === 'console' || SITE_COMMANDS.some((c) => c.slice(0, 2).join(' ') === name);
      if (!elsewhere) assert.ok(rows.some((r) => r.command === name && r.ok), `no success row for ${name}`);
      assert.ok(rows.some((r) => r.command === name && r.error), `no error row for ${name}`);
    }
  });

  for (const mode of ['direct', 'daemon'] as const) {
    describe(`engine commands, ${mode}`, () => {
      let sim: SimAppliance;
      let daemon: Daemon | undefined;
      before(async () => {
        sim = await createSimAppliance(path.join(tmp.dir, `appliance-${mode}`), { slotSize: 4 * MIB, imageSize: 1 * MIB });
        if (mode === 'daemon') daemon = await startDaemon({ configPath: sim.configPath, port: 0 });
      });
      after(async () => daemon?.close());

      it('prints one JSON document per command, success and error', async () => {
        for (const row of engineRows(sim)) {
          const config = row.args.includes('--config') ? [] : ['--config', sim.configPath];
          const r = await abu([...row.args, ...config, '--json'], { cwd: tmp.dir });
          check(row, r);
          if (mode === 'daemon' && row.command === 'reboot') await waitIdle(sim);
        }
      });
    });
  }

  it('keygen, bundle create/inspect, sim, console: one JSON document, success and error', async () => {
    for (const row of toolRows(tmp.dir)) check(row, await abu([...row.args, '--json'], { cwd: tmp.dir }));
  });

  it('serve --json prints its URL and token as one JSON line', async () => {
    const sim = path.join(tmp.dir, 'sim2');
    const s = await serve(['--config', path.join(sim, 'config.json'), '--port', '0']);
    try {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.ok(s.token.length > 20);
    } finally {
      await s.stop();
    }
  });

  it('console push --json prints the transfer as JSON (over a socat pty pair)', async function () {
    if (spawnSync('socat', ['-V'], { stdio: 'ignore' }).status !== 0) return this.skip(); // socat makes the pty pair; CI installs it
    const sim = await createSimAppliance(path.join(tmp.dir, 'appliance-console'), { slotSize: 4 * MIB, imageSize: 1 * MIB });
    const socat = spawn('socat', [`pty,raw,echo=0,link=${tmp.dir}/dev`, `pty,raw,echo=0,link=${tmp.dir}/host`], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(existsSync(`${tmp.dir}/dev`) && existsSync(`${tmp.dir}/host`)); i++) await new Promise((r) => setTimeout(r, 20));
    const device = spawn(process.execPath, [path.resolve(__dirname, '../../../../bin/abu'), 'console', '--device', `${tmp.dir}/dev`, '--config', sim.configPath], { env: cleanEnv(), stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const r = await abu(['console', 'push', '--device', `${tmp.dir}/host`, sim.bundles[0], '--json']);
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.ok(doc.bytes > 0 && Array.isArray(doc.lines), r.stdout);
    } finally {
      device.kill('SIGINT');
      socat.kill();
    }
  });
});

/** A reboot through the daemon answers first and restarts after: wait until it has finished. */
async function waitIdle(sim: SimAppliance): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await abu(['status', '--config', sim.configPath, '--json']);
    if (r.code === 0 && !JSON.parse(r.stdout).operation) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
