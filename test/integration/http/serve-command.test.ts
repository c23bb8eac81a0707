// `abu serve --sim DIR` as a process: creates the simulated appliance, prints URL and token, serves, stops on SIGINT.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

const SERVE = path.resolve(__dirname, '../../../engine/transports/cli/commands/serve.js');

describe('abu serve --sim', function () {
  this.timeout(60_000);

  it('starts on the simulated appliance, prints the page URL with the token, and stops cleanly', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-serve-'));
    const script = `require(${JSON.stringify(SERVE)}).serveCommand.run(['--sim', ${JSON.stringify(dir)}, '--port', '0', '--json'], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), env: process.env }).then((c) => { process.exitCode = c; })`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`abu serve exited early with ${code}`)));
      });
      const info = JSON.parse(line);
      assert.match(info.page, /^http:\/\/127\.0\.0\.1:\d+\/#token=/);
      assert.equal(decodeURIComponent(info.page.split('#token=')[1]), info.token);
      // All three demo bundles, the broken 1.1.0 too, each with what it is for.
      assert.deepEqual(info.bundles.map((b: { version: string; broken: boolean }) => `${b.version}${b.broken ? ' broken' : ''}`), ['1.1.0', '1.2.0', '1.1.0 broken']);
      for (const b of info.bundles) {
        assert.ok(b.purpose.length > 20, `${b.path} says what it is for`);
        await fs.access(b.path);
      }
      assert.match(info.bundles[2].purpose, /health check/);
      const status = (await (await fetch(`${info.url}/api/status`)).json()) as { product: string };
      assert.equal(status.product, 'abu-demo-appliance');
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      assert.equal(await exit, 0);
    } finally {
      child.kill('SIGKILL');
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
