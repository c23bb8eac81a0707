// Global options before the verb, history -n, install from a URL and from stdin, --reboot and --accept-irreversible:
// each directly and through the daemon.
import assert from 'node:assert/strict';
import { createReadStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { startDaemon, type Daemon } from '../../../engine/transports/http/daemon';
import { tempDir } from '../../helpers/bundle-fixtures';
import { abu, assertTypedError } from './abu-process';

const MIB = 1024 * 1024;

describe('CLI: options and install sources', function () {
  this.timeout(180_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let files: http.Server;
  let filesUrl: string;

  before(async () => {
    tmp = await tempDir('abu-cli-options-');
    // Serves the files of tmp.dir: the "release server" the URL installs download from.
    files = http.createServer((req, res) => {
      const file = path.join(tmp.dir, path.normalize(decodeURIComponent(req.url ?? '/')));
      fs.stat(file).then(
        (st) => {
          res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
          createReadStream(file).pipe(res);
        },
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  });
  after(async () => {
    files?.close();
    await tmp.cleanup();
  });

  for (const mode of ['direct', 'daemon'] as const) {
    describe(mode, () => {
      let sim: SimAppliance;
      let daemon: Daemon | undefined;
      const route = mode === 'direct' ? ['--direct'] : [];
      const cfg = () => ['--config', sim.configPath];
      const booted = async () => JSON.parse((await abu(['status', '--json', ...cfg()])).stdout).booted as string;

      before(async () => {
        sim = await createSimAppliance(path.join(tmp.dir, mode), { slotSize: 4 * MIB, imageSize: 1 * MIB });
        if (mode === 'daemon') daemon = await startDaemon({ configPath: sim.configPath, port: 0 });
      });
      after(async () => daemon?.close());

      it('takes --config, --json and --direct before the command, as git does', async () => {
        const r = await abu(['--config', sim.configPath, '--json', ...route, 'status']);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(JSON.parse(r.stdout).booted, 'A');
        const short = await abu(['-c', sim.configPath, ...route, 'history', '-n', '1']);
        assert.equal(short.code, 0, short.stderr);
        const equals = await abu([`--config=${sim.configPath}`, ...route, 'status']);
        assert.match(equals.stdout, /^product +abu-demo-appliance$/m);
        assertTypedError(await abu(['--config']), 'ABU_ERR_USAGE', { exit: 2, message: /--config needs a file/ });
      });

      it('installs from an http URL, then restarts into it with --reboot', async () => {
        const rel = path.relative(tmp.dir, sim.bundles[0]);
        const r = await abu(['--config', sim.configPath, 'install', ...route, `${filesUrl}/${rel}`, '--reboot']);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^installed 1\.1\.0 into slot B: .*activated, restarting into it$/m);
        if (mode === 'daemon') assert.match(r.stderr, /install from download http:.*: started/, 'the daemon downloaded it');
        assert.equal(await booted(), 'B');
        // The simulated restart runs boot-check itself; running it again confirms the slot again.
        const check = await abu(['boot-check', '--json', ...cfg()]);
        assert.deepEqual([JSON.parse(check.stdout).booted, JSON.parse(check.stdout).outcome], ['B', 'already-good'], check.stderr);
      });

      it('refuses to activate an irreversible release without --accept-irreversible, on install and on activate', async () => {
        const refused = await abu(['install', ...route, ...cfg(), sim.bundles[1]]);
        assertTypedError(refused, 'ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED', { message: /irreversible.*--accept-irreversible/ });
        const written = await abu(['install', ...route, ...cfg(), sim.bundles[1], '--no-activate', '--json']);
        assert.equal(JSON.parse(written.stdout).activated, false, written.stderr);
        assertTypedError(await abu(['activate', ...route, ...cfg()]), 'ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED');
        const accepted = await abu(['activate', 'other', '--accept-irreversible', '--json', ...route, ...cfg()]);
        assert.equal(accepted.code, 0, accepted.stderr);
        assert.deepEqual([JSON.parse(accepted.stdout).slot, JSON.parse(accepted.stdout).changed], ['A', true]);
      });

      it('installs from standard input (-)', async () => {
        // Undo the pending activation of A (1.2.0), then reinstall 1.2.0 into A from stdin, accepted.
        assert.equal((await abu(['activate', 'B', ...route, ...cfg()])).code, 0);
        const r = await abu(['install', '-', '--accept-irreversible', ...route, ...cfg()], { input: await fs.readFile(sim.bundles[1]) });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^installed 1\.2\.0 into slot A: .*activated for the next boot$/m);
        if (mode === 'daemon') assert.match(r.stderr, /install standard input \(upload\): started/, 'streamed to the daemon');
      });

      it('history -n 2 prints the newest two entries', async () => {
        const human = await abu(['history', '-n', '2', ...route, ...cfg()]);
        assert.equal(human.code, 0, human.stderr);
        const lines = human.stdout.trim().split('\n');
        assert.equal(lines.length, 2, human.stdout);
        assert.match(lines[0], / activate +A +slot A \(1\.2\.0\)/);
        assert.match(lines[1], / install +A +/);
        const json = JSON.parse((await abu(['history', '--limit', '3', '--json', ...route, ...cfg()])).stdout);
        assert.deepEqual(json.map((h: { kind: string }) => h.kind), ['activate', 'install', 'activate']);
      });
    });
  }
});
