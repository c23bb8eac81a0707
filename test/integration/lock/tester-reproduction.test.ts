// The tester's reproduction, as processes: the daemon installs a throttled upload of 1.1.0 while
// `abu install --direct` of the broken 1.1.0 starts. Before the appliance lock both wrote slot B and the state
// ended "verified" over bytes of two images; now the direct install is refused and the daemon's install is exact.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { createEngine } from '../../../engine/engine';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { tempDir } from '../../helpers/bundle-fixtures';
import { slotBytes } from '../../helpers/sim-fixture';
import { editConfig } from '../http/sim-daemon';
import { readState, runAbu, startServe, waitForLockHeldBy, type ServeProcess } from './appliance-procs';

const MIB = 1024 * 1024;

/**
 * Like `curl --limit-rate`: the body goes out in 64 KiB pieces with a pause between them. At `gateAt` bytes it
 * stops until `open()`, so the second writer provably starts while the upload is still running.
 */
function throttledUpload(serve: ServeProcess, bundle: Buffer, gateAt: number) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let atGate!: () => void;
  const reachedGate = new Promise<void>((resolve) => (atGate = resolve));
  const req = http.request(`${serve.url}/api/install`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/octet-stream', 'content-length': bundle.length, 'x-abu-filename': 'abu-demo-appliance-1.1.0.abu' },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
  void (async () => {
    for (let at = 0; at < bundle.length; at += 64 * 1024) {
      if (at >= gateAt) {
        atGate();
        await gate;
        gateAt = Infinity;
      }
      req.write(bundle.subarray(at, at + 64 * 1024));
      await new Promise((r) => setTimeout(r, 5));
    }
    req.end();
  })();
  return { reachedGate, open, answer };
}

describe("the tester's race: a throttled daemon upload and abu install --direct of the broken bundle", function () {
  this.timeout(60_000);
  let sim: SimAppliance;
  let serve: ServeProcess | undefined;
  let cleanup = async () => undefined as void;

  before(async () => {
    const t = await tempDir('abu-race-repro-');
    cleanup = t.cleanup;
    // 6 MiB images in 4 MiB chunks: chunk 0 of the upload is written before the direct install starts.
    sim = await createSimAppliance(t.dir, { slotSize: 8 * MIB, imageSize: 6 * MIB });
    await editConfig(sim.configPath, (c) => (c.install.idleTimeoutSeconds = 300));
    serve = await startServe(sim.configPath);
  });
  after(async () => {
    await serve?.stop();
    await cleanup();
  });

  it('refuses the direct install with ABU_ERR_BUSY naming the daemon; the daemon installs 1.1.0 exactly and it boots', async () => {
    const bundle = await fs.readFile(sim.bundles[0]);
    const upload = throttledUpload(serve!, bundle, 5 * MIB);
    await waitForLockHeldBy(path.join(sim.dir, 'state'), serve!.proc.pid);
    await upload.reachedGate;

    const direct = await runAbu(['install', '--direct', '--config', sim.configPath, sim.brokenBundle]);
    assert.equal(direct.code, 1, direct.stdout + direct.stderr);
    assert.match(direct.stderr, new RegExp(`^abu: ABU_ERR_BUSY: busy: "install from upload \\S*abu-demo-appliance-1\\.1\\.0\\.abu.*" by abu serve.*\\(pid ${serve!.proc.pid}\\b`, 'm'));
    assert.doesNotMatch(direct.stdout, /installed/);

    upload.open();
    const answer = await upload.answer;
    assert.equal(answer.status, 200, answer.body);
    const image = await fs.readFile(path.join(sim.dir, 'images', 'rootfs-1.1.0.img'));
    assert.ok((await slotBytes(sim, 'B', image.length)).equals(image), 'slot B holds every chunk of the signed 1.1.0 image and nothing of the broken one');
    const s = await readState(sim);
    assert.deepEqual([s.slots.B.version, s.slots.B.verified, s.slots.B.description], ['1.1.0', true, 'Demo release 1.1.0: faster boot']);
    assert.equal(s.lastError, null, 'the refused install wrote nothing, not even an error record');
    assert.deepEqual(s.history.filter((h: any) => h.kind.startsWith('install')).map((h: any) => h.kind), ['install', 'install'], 'the factory image and the upload, no other install');

    const reboot = await runAbu(['reboot', '--direct', '--config', sim.configPath]);
    assert.equal(reboot.code, 0, reboot.stderr);
    const status = await (await createEngine(sim.configPath)).status();
    assert.equal(status.booted, 'B');
    assert.equal(status.slots.find((v) => v.name === 'B')!.state, 'good', 'the health check passed on the image that was verified');
  });
});
