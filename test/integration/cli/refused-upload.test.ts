// A bundle the daemon refuses mid-upload: the refusal reaches the CLI as its own code every time, never a write EPIPE.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { startDaemon, type Daemon } from '../../../engine/transports/http/daemon';
import { tempDir } from '../../helpers/bundle-fixtures';
import { slotHash } from '../../helpers/sim-fixture';
import { abu, assertTypedError, type AbuRun } from './abu-process';

const RUNS = 20;

describe('CLI: refused installs through the daemon', function () {
  this.timeout(180_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let sim: SimAppliance;
  let daemon: Daemon;

  before(async () => {
    tmp = await tempDir('abu-cli-refused-');
    // Full-size demo bundles (24 MiB): the daemon refuses after the manifest, with megabytes still to send,
    // more than the loopback socket buffers hold, so the refusal lands in the middle of the upload.
    sim = await createSimAppliance(tmp.dir);
    daemon = await startDaemon({ configPath: sim.configPath, port: 0 });
  });
  after(async () => {
    await daemon?.close();
    await tmp.cleanup();
  });

  it(`reports the refusal (ABU_ERR_MISSING_VERSIONS) in each of ${RUNS} runs, not a broken pipe`, async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await abu(['install', '--config', sim.configPath, sim.bundles[1]]);
      outcomes.push(summary(r));
      assert.match(r.stderr, /\(upload\): started/, 'the install went through the daemon');
    }
    const wrong = outcomes.filter((o) => !o.startsWith('1 ABU_ERR_MISSING_VERSIONS'));
    assert.deepEqual(wrong, [], `${wrong.length} of ${RUNS} runs did not report the refusal`);
  });

  it(`answers a client that sends "Connection: close" in each of ${RUNS} uploads`, async () => {
    // Node's client without an agent asks to close the connection, as Python's urllib does: the daemon must still
    // half-close and read on rather than reset the connection under the client's upload.
    const size = (await fs.stat(sim.bundles[1])).size;
    const outcomes: string[] = [];
    for (let i = 0; i < RUNS; i++) outcomes.push(await closingUpload(daemon, sim.bundles[1], size));
    const wrong = outcomes.filter((o) => o !== '409 ABU_ERR_MISSING_VERSIONS');
    assert.deepEqual(wrong, [], `${wrong.length} of ${RUNS} uploads got no answer`);
  });

  it('refuses an irreversible release without --accept-irreversible (intact message, exit 1, slot untouched), installs it with', async () => {
    const first = await abu(['install', '--config', sim.configPath, sim.bundles[0], '--reboot']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /installed 1\.1\.0 into slot B: .*restarting into it/);
    const check = await abu(['boot-check', '--config', sim.configPath, '--json']);
    assert.equal(JSON.parse(check.stdout).booted, 'B', check.stderr);
    const before = await slotHash(sim, 'A');
    for (let i = 0; i < 5; i++) {
      const r = await abu(['install', '--config', sim.configPath, sim.bundles[1]]);
      assertTypedError(r, 'ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED', { message: /^1\.2\.0 is an irreversible release: .*--accept-irreversible/ });
    }
    assert.equal(await slotHash(sim, 'A'), before, 'the refusal came before any write');
    const ok = await abu(['install', '--config', sim.configPath, sim.bundles[1], '--accept-irreversible', '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const result = JSON.parse(ok.stdout);
    assert.equal(result.slot, 'A');
    assert.equal(result.version, '1.2.0');
    assert.equal(result.activated, true);
  });
});

function summary(r: AbuRun): string {
  const line = /^abu: (ABU_ERR_\w+): .*$/m.exec(r.stderr);
  return `${r.code} ${line ? line[0].slice(5, 160) : r.stderr.slice(-300)}`;
}

function closingUpload(daemon: Daemon, file: string, size: number): Promise<string> {
  return new Promise((resolve) => {
    const headers = { 'content-type': 'application/octet-stream', 'content-length': size, authorization: `Bearer ${daemon.token}` };
    let outcome = '';
    const req = http.request(`${daemon.url}/api/install`, { method: 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        outcome = `${res.statusCode} ${JSON.parse(text).code}`;
        req.destroy();
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => (outcome ||= `no answer: ${e.code ?? e.message}`));
    req.on('close', () => setTimeout(() => resolve(outcome || 'no answer'), 20));
    createReadStream(file).pipe(req);
  });
}
