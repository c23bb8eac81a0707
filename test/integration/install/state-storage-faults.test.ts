// A full disk, a read-only state folder and EIO on the state file during an update: typed error, state whole, booted slot untouched.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, closeSync, openSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { isAbuError, type AbuError } from '../../../engine/core/errors';
import { FileSource } from '../../../engine/sources/file-source';
import { StateStore } from '../../../engine/state/state-store';
import type { AtomicStep } from '../../../engine/state/atomic-file';
import { simFixture, slotHash, type SimFixture } from '../../helpers/sim-fixture';

const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' }).toString();

/** Moves the sim's state folder onto a fresh mount (its files copied over), so the real kernel fails its writes. */
async function mountState(fx: SimFixture, mount: (dir: string) => void): Promise<string> {
  const dir = fx.engine.parts.config.stateDir;
  const saved = `${dir}.saved`;
  await fs.rename(dir, saved);
  await fs.mkdir(dir);
  mount(dir);
  sh('cp', '-a', `${saved}/.`, dir);
  return dir;
}

/** The state folder on a fresh 8 MiB ext4 image, loop-mounted with `options`. */
async function ext4State(fx: SimFixture, options: string): Promise<string> {
  const img = path.join(path.dirname(fx.engine.parts.config.stateDir), 'state.ext4');
  await fs.writeFile(img, Buffer.alloc(0));
  await fs.truncate(img, 8 * 1024 * 1024);
  sh('mkfs.ext4', '-q', img);
  return mountState(fx, (d) => sh('mount', '-o', options, img, d));
}

/** Fills a file system to its last byte (ENOSPC), synchronously: the install's event loop waits meanwhile. */
function fill(dir: string): void {
  const fd = openSync(path.join(dir, 'filler'), 'w');
  const block = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

/** Runs `fault` synchronously on the install's first `writing` progress: mid-update, after the target was marked bad. */
async function installWithFault(fx: SimFixture, fault: () => void): Promise<AbuError> {
  let fired = false;
  const stop = fx.engine.subscribe({ progress: (p) => { if (p.phase === 'writing' && !fired) { fired = true; fault(); } }, log: () => undefined });
  try {
    const err = await fx.engine.install(new FileSource(fx.sim.bundles[0])).then(() => null, (e: unknown) => e);
    assert.ok(fired, 'the fault was injected during the install');
    assert.ok(isAbuError(err), `a typed error, not ${String(err)}`);
    return err;
  } finally {
    stop();
  }
}

describe('state folder failures during an update', function () {
  this.timeout(60_000);
  let fx: SimFixture;
  let mounted: string | null = null;
  let hashA: string;

  beforeEach(async function () {
    if (process.getuid?.() !== 0) this.skip(); // mounting a tmpfs or a loop device needs root (CI runs as root)
    fx = await simFixture();
    hashA = await slotHash(fx.sim, 'A');
  });

  afterEach(async () => {
    if (mounted) sh('umount', '-l', mounted);
    mounted = null;
    await fx?.cleanup();
  });

  /**
   * What must hold after any failed update: the state file loads, nothing was activated, A's bytes are unchanged,
   * and B is recorded unverified (or, with `mayBeVerified`, verified: its record's rename went through before the
   * directory fsync failed, and its bytes must then be the whole image; the caller checks them).
   */
  async function assertSafe(mayBeVerified = false): Promise<boolean> {
    const state = await new StateStore(fx.engine.parts.config.stateDir).load();
    const verified = state.slots.B?.verified === true;
    assert.ok(mayBeVerified || !verified, 'slot B is not recorded as verified');
    const status = await fx.engine.status();
    assert.equal(status.booted, 'A');
    assert.equal(status.slots.find((s) => s.primary)?.name, 'A', 'nothing was activated');
    assert.equal(status.pending, null);
    assert.equal(await slotHash(fx.sim, 'A'), hashA, 'the booted slot is untouched');
    return verified;
  }

  it('a full disk (a 256 KiB tmpfs filled up mid-install): ABU_ERR_STATE_WRITE ENOSPC, then the next install succeeds', async () => {
    const dir = await mountState(fx, (d) => sh('mount', '-t', 'tmpfs', '-o', 'size=256k', 'abu-test', d));
    mounted = dir;
    const err = await installWithFault(fx, () => fill(dir));
    assert.equal(err.code, 'ABU_ERR_STATE_WRITE', err.message);
    assert.equal(err.details.errno, 'ENOSPC');
    assert.match(err.message, /full: free space/);
    await fs.rm(path.join(dir, 'filler'));
    await assertSafe();
    assert.deepEqual((await fs.readdir(dir)).filter((f) => f.endsWith('.tmp')), [], 'no temp file left');
    assert.equal((await fx.engine.install(new FileSource(fx.sim.bundles[0]))).version, '1.1.0');
  });

  it('a read-only state folder (mount -o remount,ro of a loop-mounted ext4): ABU_ERR_STATE_WRITE EROFS before any change', async () => {
    const dir = await ext4State(fx, 'loop');
    mounted = dir;
    const hashB = await slotHash(fx.sim, 'B');
    sh('mount', '-o', 'remount,ro', dir);
    const err = await fx.engine.install(new FileSource(fx.sim.bundles[0])).then(() => null, (e: unknown) => e as AbuError);
    assert.ok(isAbuError(err, 'ABU_ERR_STATE_WRITE'), String(err));
    assert.equal(err.details.errno, 'EROFS');
    assert.match(err.message, /read-only: remount it read-write/);
    assert.equal(await slotHash(fx.sim, 'B'), hashB, 'refused before the first byte');
    await assertSafe();
    sh('mount', '-o', 'remount,rw', dir);
    assert.equal((await fx.engine.install(new FileSource(fx.sim.bundles[0]))).version, '1.1.0');
  });

  it('the state folder turning read-only mid-install (ext4 errors=remount-ro after a file system error): ABU_ERR_STATE_WRITE EROFS', async () => {
    const dir = await ext4State(fx, 'loop,errors=remount-ro');
    mounted = dir;
    // `mount -o remount,ro` is refused while the appliance lock is open for writing; a file system error is how a
    // state folder really goes read-only under a running update. ext4's trigger_fs_error raises one on purpose.
    const dev = path.basename(sh('findmnt', '-n', '-o', 'SOURCE', dir).trim());
    const err = await installWithFault(fx, () => sh('sh', '-c', `echo abu-test > /sys/fs/ext4/${dev}/trigger_fs_error`));
    assert.equal(err.code, 'ABU_ERR_STATE_WRITE', err.message);
    assert.equal(err.details.errno, 'EROFS');
    await assertSafe();
  });

  it('EIO on the state file (injected at each step of its replacement, mid-install): ABU_ERR_STATE_WRITE EIO', async () => {
    // No device-mapper in this kernel (dmsetup: "/dev/mapper/control: No such device"), so no dm-error or
    // dm-flakey: EIO comes from the atomic replace's step hook instead, armed once the install is writing.
    const steps: AtomicStep[] = ['write-temp', 'fsync-temp', 'rename', 'fsync-dir'];
    const claims: { step: AtomicStep; hashB: string }[] = [];
    for (const step of steps) {
      let armed = false;
      const real = fx.engine.parts.state;
      fx.engine.parts.state = new StateStore(fx.engine.parts.config.stateDir, (s) => {
        if (armed && s === step) throw Object.assign(new Error(`EIO: injected at ${s}`), { code: 'EIO' });
      });
      try {
        const err = await installWithFault(fx, () => (armed = true));
        assert.equal(err.code, 'ABU_ERR_STATE_WRITE', `${step}: ${err.message}`);
        assert.equal(err.details.errno, 'EIO');
        assert.equal(err.details.step, step);
      } finally {
        fx.engine.parts.state = real;
      }
      if (await assertSafe(step === 'fsync-dir')) claims.push({ step, hashB: await slotHash(fx.sim, 'B') });
    }
    assert.equal((await fx.engine.install(new FileSource(fx.sim.bundles[0]))).version, '1.1.0');
    // A record that said "verified" despite the failure was true: B then held exactly what a good install writes.
    const good = await slotHash(fx.sim, 'B');
    for (const c of claims) assert.equal(c.hashB, good, `B was recorded verified after EIO at ${c.step}, and holds the whole image`);
  });
});
