// One writer per appliance, whatever the entry point: every writer (CLI --direct, the daemon, the serial console,
// the simulated reboot, activate, mark-good) tried while each other writer holds the lock mid-operation, as
// real processes on one simulated appliance. The second writer gets ABU_ERR_BUSY naming the holder's operation
// and PID and changes nothing; the holder then completes correctly.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createEngine } from '../../../engine/engine';
import { createSimAppliance } from '../../../engine/sim/create-sim-appliance';
import { tempDir } from '../../helpers/bundle-fixtures';
import { slotBytes, slotHash } from '../../helpers/sim-fixture';
import { editConfig } from '../http/sim-daemon';
import { haveSocat } from '../serial/pty-pair';
import { lockRecord, postInstall, readState, runAbu, snapshot, startConsole, startServe, type Exit } from './appliance-procs';
import { heldHealthCheck, holdCliInstall, holdConsoleUpload, holdHttpUpload, holdReboot, type HeldWriter, type RaceAppliance } from './held-writers';

const MIB = 1024 * 1024;

/** The refusal names the holder's operation and PID. */
function assertNamesHolder(message: string, x: HeldWriter): void {
  assert.match(message, x.operation, message);
  assert.match(message, new RegExp(`pid ${x.pid}\\b`), message);
}

function assertCliBusy(e: Exit, x: HeldWriter): void {
  assert.equal(e.code, 1, `exit ${e.code}; stdout: ${e.stdout}; stderr: ${e.stderr}`);
  const line = e.stderr.split('\n').find((l) => l.startsWith('abu: '));
  assert.match(line ?? '', /^abu: ABU_ERR_BUSY: /, e.stderr);
  assertNamesHolder(line!, x);
}

interface Attempt {
  name: string;
  attempt(app: RaceAppliance, x: HeldWriter): Promise<void>;
}

const cli = (args: string[]) => async (app: RaceAppliance, x: HeldWriter) => assertCliBusy(await runAbu([...args, '--config', app.sim.configPath]), x);

/** Every second writer, each a separate process or connection. */
const ATTEMPTS: Attempt[] = [
  { name: 'abu install --direct (the broken bundle)', attempt: async (app, x) => cli(['install', '--direct', app.sim.brokenBundle])(app, x) },
  { name: 'abu install through the daemon (no --direct)', attempt: async (app, x) => cli(['install', app.sim.bundles[0]])(app, x) },
  {
    name: 'the daemon (HTTP upload)',
    async attempt(app, x) {
      const r = await postInstall(app.serve, await fs.readFile(app.sim.bundles[0]), 'second.abu');
      assert.equal(r.status, 409, JSON.stringify(r.json));
      assert.equal(r.json.code, 'ABU_ERR_BUSY');
      assert.equal(r.json.details.pid, x.pid, JSON.stringify(r.json));
      assertNamesHolder(r.json.message, x);
    },
  },
  {
    name: 'the serial console (install SIZE SHA256)',
    async attempt(app, x) {
      const bundle = await fs.readFile(app.sim.bundles[0]);
      const host = app.consoles[1].host;
      host.fresh();
      const lines = await host.command(`install ${bundle.length} ${createHash('sha256').update(bundle).digest('hex')}`);
      assert.match(lines.at(-1)!, /^ERR ABU_ERR_BUSY /, lines.join('\n'));
      assertNamesHolder(lines.at(-1)!, x);
    },
  },
  { name: 'abu reboot --direct (simulated reboot)', attempt: cli(['reboot', '--direct']) },
  { name: 'abu activate --direct', attempt: cli(['activate', '--direct']) },
  { name: 'abu mark-good --direct', attempt: cli(['mark-good', '--direct']) },
];

interface Holder {
  name: string;
  hold(app: RaceAppliance): Promise<HeldWriter>;
  /** What the appliance looks like once the holder finished. */
  check(app: RaceAppliance): Promise<void>;
}

/** After an install of 1.1.0: B holds exactly the signed image, recorded verified, tried once on the next boot. */
async function installedCorrectly(app: RaceAppliance): Promise<void> {
  const image = await fs.readFile(path.join(app.sim.dir, 'images', 'rootfs-1.1.0.img'));
  assert.ok((await slotBytes(app.sim, 'B', image.length)).equals(image), 'slot B holds the 1.1.0 image byte for byte');
  const s = await readState(app.sim);
  assert.equal(s.slots.B.verified, true);
  assert.equal(s.slots.B.version, '1.1.0');
  assert.equal(s.slots.B.description, 'Demo release 1.1.0: faster boot');
  assert.match(s.slots.B.manifestSha256, /^[0-9a-f]{64}$/);
  assert.equal(s.pending?.slot, 'B');
  const status = await (await createEngine(app.sim.configPath)).status();
  const b = status.slots.find((v) => v.name === 'B')!;
  assert.deepEqual([b.state, b.primary, status.booted], ['trying', true, 'A']);
}

const HOLDERS: Holder[] = [
  { name: 'abu install --direct - (stdin held open)', hold: async (app) => holdCliInstall(app, await fs.readFile(app.sim.bundles[0])), check: installedCorrectly },
  { name: 'the daemon (an HTTP upload that stopped sending)', hold: async (app) => holdHttpUpload(app, await fs.readFile(app.sim.bundles[0]), 'abu-demo-appliance-1.1.0.abu'), check: installedCorrectly },
  { name: 'the serial console (an upload with blocks withheld)', hold: async (app) => holdConsoleUpload(app, await fs.readFile(app.sim.bundles[0])), check: installedCorrectly },
  {
    name: 'abu reboot --direct (a health check that waits)',
    hold: holdReboot,
    async check(app) {
      // The installs above left B activated: the simulated boot tried B, the health checks passed, B is confirmed.
      const status = await (await createEngine(app.sim.configPath)).status();
      const b = status.slots.find((v) => v.name === 'B')!;
      assert.deepEqual([status.booted, b.state, b.primary, status.pending], ['B', 'good', true, null]);
    },
  },
];

describe('one writer per appliance: every pair of writers as real processes', function () {
  this.timeout(60_000);
  let app: RaceAppliance;
  let aHash = '';
  let cleanups: (() => Promise<void>)[] = [];

  before(async function () {
    if (!haveSocat()) return this.skip(); // the serial console needs a pty pair from socat (CI has it)
    const t = await tempDir('abu-race-');
    cleanups.push(t.cleanup);
    const sim = await createSimAppliance(t.dir, { slotSize: 4 * MIB, imageSize: 3 * MIB });
    const healthHold = path.join(t.dir, 'health-hold');
    const healthStarted = path.join(t.dir, 'health-started');
    await editConfig(sim.configPath, (c) => {
      c.install.idleTimeoutSeconds = 300; // held installs wait for bytes as long as the test needs
      c.healthChecks = [heldHealthCheck(healthHold, healthStarted), ...c.healthChecks];
    });
    const serve = await startServe(sim.configPath);
    cleanups.unshift(serve.stop);
    const consoles = [await startConsole(await pty(t.dir, 'c0'), sim.configPath), await startConsole(await pty(t.dir, 'c1'), sim.configPath)] as const;
    cleanups.unshift(...consoles.map((c) => c.stop));
    app = { sim, stateDir: path.join(t.dir, 'state'), serve, consoles: [consoles[0], consoles[1]], healthHold, healthStarted };
    aHash = await slotHash(sim, 'A');
  });

  after(async () => {
    for (const c of cleanups) await c().catch(() => undefined);
    cleanups = [];
  });

  for (const holder of HOLDERS) {
    describe(`while ${holder.name} holds the lock`, () => {
      let x: HeldWriter | undefined;
      before(async () => {
        x = await holder.hold(app);
      });
      after(() => x?.abort());

      for (const y of ATTEMPTS) {
        it(`${y.name} gets ABU_ERR_BUSY naming it and changes nothing`, async () => {
          const before = await snapshot(app.sim);
          await y.attempt(app, x!);
          assert.deepEqual(await snapshot(app.sim), before, 'state.json, boot env, slots and booted slot as the holder left them');
          assert.equal((await lockRecord(app.stateDir))?.pid, x!.pid, 'the holder still holds the lock');
        });
      }

      it('then the holder completes correctly and releases the lock', async () => {
        await x!.finish();
        x = undefined;
        await holder.check(app);
        assert.equal(await slotHash(app.sim, 'A'), aHash, 'slot A (the running system) was never written');
        assert.equal(await lockRecord(app.stateDir), null, 'the record is cleared on release');
        assert.equal((await (await createEngine(app.sim.configPath)).status()).lock, null);
      });
    });
  }
});

/** A folder per pty pair: socat links its two ends there. */
async function pty(dir: string, name: string): Promise<string> {
  const d = path.join(dir, name);
  await fs.mkdir(d, { recursive: true });
  return d;
}
