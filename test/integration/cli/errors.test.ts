// Ordinary mistakes on the command line get a typed error (exit code, one `abu: CODE: ...` line, no stack trace),
// the same through the daemon as directly.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { createSimAppliance, type SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { startDaemon, type Daemon } from '../../../engine/transports/http/daemon';
import { tempDir } from '../../helpers/bundle-fixtures';
import { abu, assertTypedError, cleanEnv, jsonError } from './abu-process';

const MIB = 1024 * 1024;

describe('CLI: typed errors for ordinary mistakes', function () {
  this.timeout(120_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let sim: SimAppliance;
  let daemon: Daemon;
  let files: http.Server;
  let filesUrl: string;

  before(async () => {
    tmp = await tempDir('abu-cli-errors-');
    sim = await createSimAppliance(path.join(tmp.dir, 'sim'), { slotSize: 8 * MIB, imageSize: 6 * MIB });
    daemon = await startDaemon({ configPath: sim.configPath, port: 0, download: { retries: 0 } });
    await fs.writeFile(path.join(tmp.dir, 'notes.txt'), 'not a bundle\n'.repeat(1000));
    files = http.createServer((_req, res) => res.writeHead(404).end('no such file'));
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  });
  after(async () => {
    files?.close();
    await daemon?.close();
    await tmp.cleanup();
  });

  for (const mode of ['direct', 'daemon'] as const) {
    describe(`${mode}`, () => {
      const run = (args: string[]) => abu([...args, '--config', sim.configPath, ...(mode === 'direct' ? ['--direct'] : [])], { cwd: tmp.dir });

      it('a missing bundle file: ABU_ERR_FILE naming the path', async () => {
        assertTypedError(await run(['install', 'missing.abu']), 'ABU_ERR_FILE', { message: new RegExp(`^${tmp.dir}/missing\\.abu: no such file or directory \\(ENOENT\\)$`) });
      });

      it('a directory instead of a bundle: ABU_ERR_FILE', async () => {
        assertTypedError(await run(['install', tmp.dir]), 'ABU_ERR_FILE', { message: /is a directory, not a file \(EISDIR\)$/ });
      });

      it('a file that is not a bundle: ABU_ERR_BUNDLE_MAGIC', async () => {
        const r = await run(['install', 'notes.txt']);
        assertTypedError(r, 'ABU_ERR_BUNDLE_MAGIC');
        assertRoute(r, mode, /\(upload\): started/);
      });

      it('a URL the server does not have: ABU_ERR_HTTP_SOURCE with the status', async () => {
        const r = await run(['install', `${filesUrl}/b.abu`]);
        assertTypedError(r, 'ABU_ERR_HTTP_SOURCE', { message: /404/ });
        assertRoute(r, mode, /install from download http:.*: started/);
      });

      it('a URL scheme abu does not download: usage, exit 2', async () => {
        assertTypedError(await run(['install', 'ftp://host/b.abu']), 'ABU_ERR_USAGE', { exit: 2, message: /only http:\/\/ and https:\/\//i });
      });

      it('a slot the appliance does not have: ABU_ERR_SLOT_UNKNOWN', async () => {
        assertTypedError(await run(['activate', 'Z']), 'ABU_ERR_SLOT_UNKNOWN');
      });

      it('a bad -n for history: usage, exit 2', async () => {
        assertTypedError(await run(['history', '-n', '0']), 'ABU_ERR_USAGE', { exit: 2, message: /-n takes a number/ });
      });

      it('--json: the same error as one JSON document on stdout', async () => {
        const r = await run(['install', 'missing.abu', '--json']);
        assertTypedError(r, 'ABU_ERR_FILE');
        const e = jsonError(r);
        assert.equal(e.code, 'ABU_ERR_FILE');
        assert.equal(e.details.path, path.join(tmp.dir, 'missing.abu'));
      });
    });
  }

  it('an unreadable bundle file: ABU_ERR_FILE (EACCES), run as nobody', async function () {
    if (process.getuid?.() !== 0) return this.skip(); // only root can drop to another user to see EACCES
    const file = path.join(tmp.dir, 'secret.abu');
    await fs.copyFile(sim.bundles[0], file);
    await fs.chmod(file, 0o600);
    await fs.chmod(tmp.dir, 0o755);
    const r = await abu(['install', '--direct', '--config', sim.configPath, file], { prefix: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] });
    assertTypedError(r, 'ABU_ERR_FILE', { message: /permission denied \(EACCES\)$/ });
  });

  it('a change through the daemon by a user who cannot read its token: ABU_ERR_UNAUTHORIZED saying why and what to do', async function () {
    if (process.getuid?.() !== 0) return this.skip(); // only root can drop to another user
    await fs.chmod(tmp.dir, 0o755);
    const r = await abu(['activate', '--config', sim.configPath], { prefix: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] });
    assertTypedError(r, 'ABU_ERR_UNAUTHORIZED', { message: /needs the daemon's token, which this user cannot read \(.*http-token, mode 0600\); run it as root/ });
  });

  it('a missing file for bundle inspect or console push: ABU_ERR_FILE, not an invalid bundle', async () => {
    assertTypedError(await abu(['bundle', 'inspect', 'missing.abu'], { cwd: tmp.dir }), 'ABU_ERR_FILE', { message: /missing\.abu: no such file/ });
    assertTypedError(await abu(['console', 'push', '--device', '/dev/null', tmp.dir]), 'ABU_ERR_FILE', { message: /is a directory/ });
  });

  it('a missing config: ABU_ERR_CONFIG', async () => {
    assertTypedError(await abu(['status', '--config', path.join(tmp.dir, 'nope.json')]), 'ABU_ERR_CONFIG');
  });

  it('an unknown command or option: usage, exit 2', async () => {
    assertTypedError(await abu(['instal', 'x.abu']), 'ABU_ERR_USAGE', { exit: 2, message: /unknown command "instal"/ });
    assertTypedError(await abu(['status', '--bogus']), 'ABU_ERR_USAGE', { exit: 2 });
    assertTypedError(await abu(['--bogus', 'status']), 'ABU_ERR_USAGE', { exit: 2 });
  });

  it('abu serve on a port in use: ABU_ERR_LISTEN with a hint about --port', async () => {
    const port = new URL(daemon.url).port;
    const given = await abu(['serve', '--config', sim.configPath, '--port', port]);
    assertTypedError(given, 'ABU_ERR_LISTEN', { message: new RegExp(`127\\.0\\.0\\.1:${port} is already in use.*--port N`) });
    const config = JSON.parse(await fs.readFile(sim.configPath, 'utf8'));
    // Next to the original: relative paths in a config resolve against its folder.
    const taken = path.join(sim.dir, 'port-taken.json');
    await fs.writeFile(taken, JSON.stringify({ ...config, http: { ...config.http, port: Number(port) } }));
    const fromConfig = await abu(['serve', '--config', taken, '--json']);
    assertTypedError(fromConfig, 'ABU_ERR_LISTEN', { message: /--port N .*http\.port/ });
    assert.equal(jsonError(fromConfig).details.errno, 'EADDRINUSE');
    // scripts/demo runs "abu serve --sim DIR --port $ABU_PORT": its user needs the variable, not --port. A copy of the
    // appliance without the running daemon's runtime file, so the port (not the appliance) is what is taken.
    const copy = path.join(tmp.dir, 'sim-copy');
    await fs.cp(sim.dir, copy, { recursive: true });
    await fs.rm(path.join(copy, 'state', 'daemon.json'), { force: true });
    assertTypedError(await abu(['serve', '--sim', copy, '--port', port]), 'ABU_ERR_LISTEN', { message: /--port N .*ABU_PORT=N scripts\/demo/ });
  });

  it('a daemon that drops the connection: ABU_ERR_DAEMON naming it, not an internal error', async () => {
    // A stand-in daemon (the seam: the real one does not drop requests on purpose) answers status and events,
    // then closes the connection on the install without a word.
    const fake = http.createServer((req, res) => {
      if (req.url === '/api/status') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (req.url?.startsWith('/api/events')) return void res.writeHead(200, { 'content-type': 'text/event-stream' }).write(': hi\n\n');
      req.socket.destroy();
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    try {
      const r = await abu(['install', '--config', sim.configPath, sim.bundles[0]], { env: cleanEnv({ ABU_DAEMON_URL: url, ABU_TOKEN: 't' }) });
      assertTypedError(r, 'ABU_ERR_DAEMON', { message: new RegExp(`^the abu daemon at ${url} did not answer POST /api/install: `) });
    } finally {
      fake.closeAllConnections();
      fake.close();
    }
  });
});

/** The daemon's live log ("...: started") reaches the CLI only when the command went through the daemon. */
function assertRoute(r: { stderr: string }, mode: 'direct' | 'daemon', daemonLog: RegExp): void {
  if (mode === 'daemon') assert.match(r.stderr, daemonLog, 'went through the daemon');
  else assert.doesNotMatch(r.stderr, /: started$/m, 'ran directly');
}
