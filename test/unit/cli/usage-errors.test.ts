// What a new user's typing mistakes get from the CLI: command groups list their subcommands, typos get the nearest
// command or option, parseArgs's messages are made readable with the command's usage, a missing or malformed
// config says what to do, and --version answers. main() runs in-process with captured output.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../../engine/transports/cli/main';

interface Run { code: number; stdout: string; stderr: string }

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await main(args, { stdin: new PassThrough(), stdout, stderr, cwd: process.cwd(), env });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

describe('CLI usage errors a new user meets', () => {
  it('"abu bundle --help", "abu site --help" and "abu cluster --help" list the subcommands (exit 0)', async () => {
    for (const [group, sub] of [['bundle', 'create'], ['site', 'upload'], ['cluster', 'switch-back']]) {
      const r = await run([group, '--help']);
      assert.equal(r.code, 0, `${group}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^  ${sub} `, 'm'), r.stdout);
    }
  });

  it('"abu help COMMAND" shows that command\'s usage, as "abu COMMAND --help" does', async () => {
    const r = await run(['help', 'install']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^abu install FILE\|URL\|- /);
    assert.match((await run(['help', 'bundle'])).stdout, /^usage: abu bundle create\|inspect/);
    assert.match((await run(['help', 'bundle', 'create'])).stdout, /^abu bundle create --product P/);
  });

  it('"abu bundle" alone and "abu bundle creat" are usage errors naming the subcommands', async () => {
    const bare = await run(['bundle']);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /ABU_ERR_USAGE: "abu bundle" needs a subcommand: bundle create, bundle inspect/);
    const typo = await run(['bundle', 'creat']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown command "bundle creat" \(did you mean "bundle create"\?\)/);
  });

  it('a mistyped command or option gets the nearest one, and an option mistake gets the command\'s usage', async () => {
    assert.match((await run(['instal', 'x.abu'])).stderr, /unknown command "instal" \(did you mean "install"\?\)/);
    const option = await run(['install', '--no-activat', 'x.abu']);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /^abu: ABU_ERR_USAGE: unknown option --no-activat \(did you mean --no-activate\?\)\nusage: abu install FILE/);
    const dash = await run(['history', '-n', '-3']);
    assert.equal(dash.code, 2);
    assert.match(dash.stderr, /-n needs a value/);
    assert.doesNotMatch(dash.stderr, /ambiguous|XYZ/);
    assert.match((await run(['status', '--json=1'])).stderr, /--json takes no value/);
  });

  it('--version prints the package version', async () => {
    const r = await run(['--version']);
    assert.equal(r.code, 0, r.stderr);
    const pkg = JSON.parse(await fs.readFile(path.resolve(__dirname, '../../../../package.json'), 'utf8'));
    assert.equal(r.stdout, `abu ${pkg.version}\n`);
  });

  it('a missing, directory, non-JSON or non-object config says what is wrong and what to do', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-usage-'));
    try {
      const missing = await run(['status', '--direct'], { ABU_CONFIG: path.join(dir, 'none.json') });
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /ABU_ERR_CONFIG: cannot read config .*none\.json: no such file; name the appliance's config with --config FILE or \$ABU_CONFIG/);
      assert.match((await run(['status', '--direct', '--config', dir])).stderr, /it is a directory; name the config file itself/);
      await fs.writeFile(path.join(dir, 'bad.json'), '{bad');
      assert.match((await run(['status', '--direct', '--config', path.join(dir, 'bad.json')])).stderr, /bad\.json is not valid JSON/);
      await fs.writeFile(path.join(dir, 'list.json'), '[]');
      assert.match((await run(['status', '--direct', '--config', path.join(dir, 'list.json')])).stderr, /must be a JSON object .*not an array/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
