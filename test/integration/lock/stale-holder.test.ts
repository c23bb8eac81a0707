// A holder that dies never leaves the appliance locked: SIGKILL mid-install releases the flock (the kernel does),
// its leftover record is ignored, the interrupted target stays unverified, and the next writer succeeds. A record
// whose PID now belongs to an unrelated process is ignored too.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createEngine } from '../../../engine/engine';
import { DEFAULT_LIMITS, decodeHeader, payloadStart } from '../../../engine/bundle/framing';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { tempDir } from '../../helpers/bundle-fixtures';
import { slotBytes } from '../../helpers/sim-fixture';
import { editConfig } from '../http/sim-daemon';
import { lockRecord, postInstall, readState, runAbu, spawnAbu, startServe, waitFor, waitForLockHeldBy, type ServeProcess } from './appliance-procs';

const MIB = 1024 * 1024;

describe('a dead or unrelated lock holder', function () {
  this.timeout(60_000);
  let sim: SimAppliance;
  let stateDir = '';
  let serve: ServeProcess | undefined;
  let bundle: Buffer;
  let image: Buffer;
  let cleanup = async () => undefined as void;

  before(async () => {
    const t = await tempDir('abu-race-stale-');
    cleanup = t.cleanup;
    sim = await createSimAppliance(t.dir, { slotSize: 8 * MIB, imageSize: 6 * MIB });
    stateDir = path.join(sim.dir, 'state');
    await editConfig(sim.configPath, (c) => (c.install.idleTimeoutSeconds = 300));
    serve = await startServe(sim.configPath);
    bundle = await fs.readFile(sim.bundles[0]);
    image = await fs.readFile(path.join(sim.dir, 'images', 'rootfs-1.1.0.img'));
  });
  after(async () => {
    await serve?.stop();
    await cleanup();
  });

  const engineStatus = async () => (await createEngine(sim.configPath)).status();

  it('SIGKILL mid-install: the lock is free, the target stays unverified and unbootable, the next writer succeeds', async () => {
    // Chunk 0 (4 MiB) whole and part of chunk 1: the killed install has written into slot B.
    const cut = payloadStart(decodeHeader(bundle.subarray(0, 32), DEFAULT_LIMITS)) + 4 * MIB + 64 * 1024;
    const p = spawnAbu(['install', '--direct', '--config', sim.configPath, '-'], { stdin: 'pipe' });
    p.child.stdin!.on('error', () => undefined);
    p.child.stdin!.write(bundle.subarray(0, cut));
    await waitForLockHeldBy(stateDir, p.pid);
    await waitFor('chunk 0 in slot B', async () => (await slotBytes(sim, 'B', 4096)).equals(image.subarray(0, 4096)));

    const held = await engineStatus();
    assert.equal(held.lock?.pid, p.pid);
    const refused = await runAbu(['mark-good', '--direct', '--config', sim.configPath]);
    assert.match(refused.stderr, new RegExp(`^abu: ABU_ERR_BUSY: .*install from standard input.*pid ${p.pid}\\b`, 'm'), 'the live holder holds the lock');

    p.child.kill('SIGKILL');
    await p.exit;
    assert.equal((await lockRecord(stateDir))?.pid, p.pid, 'the dead holder left its record behind');
    const after = await engineStatus();
    assert.equal(after.lock, null, 'a record of a dead PID is ignored');
    assert.equal(after.operation, null);
    const b = after.slots.find((v) => v.name === 'B')!;
    assert.deepEqual([b.state, b.primary, after.slots.find((v) => v.name === 'A')!.primary], ['bad', false, true]);
    const s = await readState(sim);
    assert.equal(s.slots.B.verified, false, 'the interrupted target is never claimed verified');
    assert.equal(s.pending, null);

    const next = await postInstall(serve!, bundle, 'abu-demo-appliance-1.1.0.abu');
    assert.equal(next.status, 200, JSON.stringify(next.json));
    assert.ok((await slotBytes(sim, 'B', image.length)).equals(image));
    assert.equal((await readState(sim)).slots.B.verified, true);
    assert.equal(await lockRecord(stateDir), null);
  });

  it('a record naming a live process that does not hold the lock (a reused PID) is ignored', async () => {
    const unrelated = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const record = { pid: unrelated.pid, operation: 'install from standard input', owner: 'abu install --direct -', since: new Date().toISOString() };
      await fs.writeFile(path.join(stateDir, 'abu.lock'), JSON.stringify(record) + '\n');
      const s = await engineStatus();
      assert.equal(s.lock, null);
      assert.equal(s.operation, null);
      const r = await postInstall(serve!, bundle, 'abu-demo-appliance-1.1.0.abu');
      assert.equal(r.status, 200, `the daemon must not refuse on a stale record: ${JSON.stringify(r.json)}`);
    } finally {
      unrelated.kill('SIGKILL');
    }
  });
});
