// The bundle CLI commands end to end: keygen -> bundle create -> bundle inspect, exit codes and output.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { CliContext, Command } from '../../../engine/transports/cli/command';
import { keygenCommand } from '../../../engine/transports/cli/commands/keygen';
import { bundleCreateCommand, parseSize } from '../../../engine/transports/cli/commands/bundle-create';
import { bundleInspectCommand } from '../../../engine/transports/cli/commands/bundle-inspect';
import { isAbuError } from '../../../engine/core/errors';
import { craftBundle, describeImages, imageBytes, tempDir, type TestKey } from '../../helpers/bundle-fixtures';

interface Run { code: number; stdout: string; stderr: string }

function sink(): Writable & { text: () => string } {
  const parts: Buffer[] = [];
  const w = new Writable({ write(chunk, _enc, done) { parts.push(Buffer.from(chunk)); done(); } });
  return Object.assign(w, { text: () => Buffer.concat(parts).toString() });
}

/** Runs a command the way main.ts does: AbuError usage errors become exit 2, others 1. */
async function run(command: Command, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const stdout = sink();
  const stderr = sink();
  const ctx: CliContext = { stdin: new PassThrough().end(), stdout, stderr, cwd, env };
  try {
    return { code: await command.run(args, ctx), stdout: stdout.text(), stderr: stderr.text() };
  } catch (e) {
    assert.ok(isAbuError(e), String(e));
    return { code: e.code === 'ABU_ERR_USAGE' ? 2 : 1, stdout: stdout.text(), stderr: `${e.code}: ${e.message}` };
  }
}

describe('bundle CLI commands', function () {
  this.timeout(20_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  const create = (extra: string[] = [], out = 'b.abu'): string[] => [
    '--product', 'demo', '--version', '1.1.0', '--predecessor', '1.0.0', '--chunk-size', '64K', '--build-time', '1700000000',
    '--key', 'keys/release.key', '--key', 'keys/second.key', '--image', 'rootfs:rootfs:root.img', '--image', 'app:appfs:app.img', '--out', out, ...extra,
  ];

  before(async () => {
    tmp = await tempDir();
    await writeFile(path.join(tmp.dir, 'root.img'), imageBytes(200_000));
    await writeFile(path.join(tmp.dir, 'app.img'), imageBytes(5000, 'app'));
  });
  after(async () => tmp.cleanup());

  it('keygen writes a 0600 private key and a public key, prints the key id, refuses to overwrite', async () => {
    for (const name of ['release', 'second', 'other']) {
      const r = await run(keygenCommand, ['--out', 'keys', '--name', name], tmp.dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^key id [0-9a-f]{16}\n/);
      assert.equal((await stat(path.join(tmp.dir, 'keys', `${name}.key`))).mode & 0o777, 0o600);
      assert.match(await readFile(path.join(tmp.dir, 'keys', `${name}.pub`), 'utf8'), /BEGIN PUBLIC KEY/);
    }
    assert.equal((await run(keygenCommand, ['--out', 'keys', '--name', 'release'], tmp.dir)).code, 2);
    assert.equal((await run(keygenCommand, ['--name', 'x'], tmp.dir)).code, 2);
    assert.equal((await run(keygenCommand, ['--out', 'k', '--name', '../x'], tmp.dir)).code, 2);
  });

  it('bundle create is deterministic and inspect verifies it (exit 0), with payload and JSON', async () => {
    assert.equal((await run(bundleCreateCommand, create(), tmp.dir)).code, 0);
    assert.equal((await run(bundleCreateCommand, create([], 'again.abu'), tmp.dir)).code, 0);
    assert.ok((await readFile(path.join(tmp.dir, 'b.abu'))).equals(await readFile(path.join(tmp.dir, 'again.abu'))));
    const human = await run(bundleInspectCommand, ['b.abu', '--keyring', 'keys', '--verify-payload'], tmp.dir);
    assert.equal(human.code, 0, human.stdout + human.stderr);
    assert.match(human.stdout, /version +1\.1\.0/);
    assert.match(human.stdout, /exactly 1\.0\.0/);
    assert.match(human.stdout, /every chunk verified/);
    const json = await run(bundleInspectCommand, ['b.abu', '--keyring', path.join(tmp.dir, 'keys', 'second.pub'), '--json'], tmp.dir);
    const parsed = JSON.parse(json.stdout);
    assert.equal(json.code, 0);
    assert.equal(parsed.valid, true);
    assert.equal(parsed.manifest.images[0].chunkCrc32.length, 4);
    assert.equal(parsed.signedBy.length, 1);
  });

  it('bundle create --compress zstd[:LEVEL] makes a smaller, deterministic bundle; inspect shows the compression', async () => {
    await writeFile(path.join(tmp.dir, 'zero.img'), Buffer.alloc(300_000));
    const zimage = ['--image', 'rootfs:rootfs:zero.img'];
    const zcreate = (out: string, extra: string[]) => [...create([], out).filter((_a, i, all) => all[i] !== '--image' && all[i - 1] !== '--image'), ...zimage, ...extra];
    assert.equal((await run(bundleCreateCommand, zcreate('z.abu', ['--compress', 'zstd']), tmp.dir)).code, 0);
    assert.equal((await run(bundleCreateCommand, zcreate('z2.abu', ['--compress', 'zstd:9']), tmp.dir)).code, 0);
    assert.equal((await run(bundleCreateCommand, zcreate('zn.abu', ['--compress', 'none']), tmp.dir)).code, 0);
    const [z, z2, zn] = await Promise.all(['z.abu', 'z2.abu', 'zn.abu'].map((f) => readFile(path.join(tmp.dir, f))));
    assert.ok(z.equals(z2), 'zstd means zstd:9, and the same inputs give the same bytes');
    assert.ok(z.length < zn.length / 10, `${z.length} bytes compressed, ${zn.length} not`);
    const human = await run(bundleInspectCommand, ['z.abu', '--keyring', 'keys', '--verify-payload'], tmp.dir);
    assert.equal(human.code, 0, human.stdout + human.stderr);
    assert.match(human.stdout, /rootfs -> slot class rootfs: .*zstd: [\d.]+ [KMG]?i?B stored \([\d.]+%\)/);
    assert.match((await run(bundleInspectCommand, ['zn.abu'], tmp.dir)).stdout, /uncompressed/);
    const json = JSON.parse((await run(bundleInspectCommand, ['z.abu', '--json'], tmp.dir)).stdout);
    assert.equal(json.manifest.images[0].compression, 'zstd');
    assert.equal(json.manifest.images[0].chunkStoredSize.length, 5);
    assert.equal(json.manifest.images[0].storedSize + 0, json.manifest.images[0].chunkStoredSize.reduce((a: number, b: number) => a + b, 0));
    for (const bad of ['xz', 'zstd:0', 'zstd:23', 'zstd:x', 'gzip']) {
      const r = await run(bundleCreateCommand, zcreate('bad.abu', ['--compress', bad]), tmp.dir);
      assert.equal(r.code, 2, `--compress ${bad}: ${r.stderr}`);
    }
  });

  it('bundle inspect exits 1 with the error code for unknown keys, tampering and no keyring', async () => {
    const bytes = await readFile(path.join(tmp.dir, 'b.abu'));
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 10] ^= 4;
    await writeFile(path.join(tmp.dir, 'tampered.abu'), tampered);
    const cases: [string[], RegExp][] = [
      [['b.abu', '--keyring', 'keys/other.pub'], /ABU_ERR_KEY_UNKNOWN/],
      [['tampered.abu', '--keyring', 'keys', '--verify-payload'], /ABU_ERR_CHUNK_CRC/],
      [['b.abu'], /NOT VERIFIED/],
      [['root.img', '--keyring', 'keys'], /ABU_ERR_BUNDLE_MAGIC/],
    ];
    for (const [args, pattern] of cases) {
      const r = await run(bundleInspectCommand, args, tmp.dir);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stdout, pattern, args.join(' '));
    }
    // A file that cannot be opened is the user's mistake, not an invalid bundle.
    const missing = await run(bundleInspectCommand, ['missing.abu', '--keyring', 'keys'], tmp.dir);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^ABU_ERR_FILE: .*missing\.abu: no such file/);
    assert.equal((await run(bundleInspectCommand, ['tampered.abu', '--keyring', 'keys'], tmp.dir)).code, 0, 'payload is not checked unless asked');
    assert.equal((await run(bundleInspectCommand, [], tmp.dir)).code, 2);
    assert.equal((await run(bundleInspectCommand, ['b.abu', '--bogus'], tmp.dir)).code, 2);
  });

  it('bundle create rejects bad arguments with exit 2 and bad content with exit 1', async () => {
    const usage: string[][] = [
      create().filter((a) => a !== '--product' && a !== 'demo'),
      create(['--image', 'noslot:x']), create(['--chunk-size', 'big']), create(['--build-time', 'yesterday']),
      create().map((a) => (a === '64K' ? '1000' : a)),
    ];
    for (const args of usage) assert.equal((await run(bundleCreateCommand, args, tmp.dir)).code, 2, args.join(' '));
    const invalid: [string[], RegExp][] = [
      [create().map((a) => (a === '1.1.0' ? '1.2' : a)), /ABU_ERR_MANIFEST_INVALID: manifest field version/],
      [create(['--key', 'keys/release.pub']), /ABU_ERR_KEY_INVALID/],
      [create(['--image', 'rootfs:rootfs:app.img']), /duplicate image name/],
      [create(['--image', 'second:rootfs:app.img']), /images\[2\]\.slot_class "rootfs" is already the target of image "rootfs"/],
    ];
    for (const [args, pattern] of invalid) {
      const r = await run(bundleCreateCommand, args, tmp.dir);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, pattern);
    }
    assert.equal((await run(bundleCreateCommand, create(['--image', 'x:rootfs:nope.img']), tmp.dir)).code, 2);
  });

  it('bundle inspect --verify-payload refuses a signed bundle with two images for one slot class', async () => {
    const release = await readFile(path.join(tmp.dir, 'keys', 'release.key'), 'utf8');
    const key = { privateKey: createPrivateKey(release) } as TestKey;
    const payloads = [imageBytes(70_000, 'a'), imageBytes(9000, 'b')];
    const images = await describeImages(tmp.dir, [{ name: 'root', slotClass: 'rootfs', data: payloads[0] }, { name: 'other', slotClass: 'rootfs', data: payloads[1] }]);
    const manifest = { product: 'demo', version: '2.0.0', description: '', buildTime: 1, source: {}, irreversible: false, images };
    await writeFile(path.join(tmp.dir, 'two-rootfs.abu'), craftBundle(manifest, { keys: [key], payloads }));
    const r = await run(bundleInspectCommand, ['two-rootfs.abu', '--keyring', 'keys', '--verify-payload'], tmp.dir);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /INVALID: ABU_ERR_MANIFEST_INVALID: manifest field images\[1\]\.slot_class/);
  });

  it('parses chunk sizes with K and M suffixes', () => {
    assert.equal(parseSize('65536'), 65536);
    assert.equal(parseSize('64K'), 65536);
    assert.equal(parseSize('4M'), 4 * 1024 * 1024);
    assert.equal(parseSize('16MiB'), 16 * 1024 * 1024);
  });
});
