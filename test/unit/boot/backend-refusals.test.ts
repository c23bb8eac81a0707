// Backends refuse stores they cannot trust, with typed errors and without writing.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createBootFlagBackend } from '../../../engine/boot/registry';
import { isAbuError, type AbuErrorCode } from '../../../engine/core/errors';
import { configFor, HEALTHY, makeAndroidMisc, makeGrubEnv, tempDir } from '../../contract/boot-fixtures';

const rejects = (p: Promise<unknown>, code: AbuErrorCode) =>
  assert.rejects(p, (e: unknown) => isAbuError(e, code) || assert.fail(`expected ${code}, got ${String(e)}`));

describe('boot-flag backends refuse untrustworthy stores', () => {
  it('grub: a file that is not exactly the block size', async () => {
    const file = await makeGrubEnv(await tempDir(), HEALTHY.grub);
    await fs.appendFile(file, Buffer.alloc(1024, 0x23));
    await rejects(createBootFlagBackend(configFor('grub', file)).status(), 'ABU_ERR_BOOTENV_FORMAT');
  });

  it('grub: a truncated (empty) file, as a cut grub-editenv leaves it', async () => {
    const file = await makeGrubEnv(await tempDir(), HEALTHY.grub);
    await fs.truncate(file, 0);
    await rejects(createBootFlagBackend(configFor('grub', file)).markGood('A'), 'ABU_ERR_BOOTENV_FORMAT');
    assert.equal((await fs.stat(file)).size, 0);
  });

  it('android: unknown magic, a newer version and fewer slots than configured', async () => {
    const dir = await tempDir();
    const file = await makeAndroidMisc(dir, HEALTHY.android);
    const good = await fs.readFile(file);
    const cases: Array<[string, (b: Buffer) => void]> = [
      ['magic', (b) => b.writeUInt32LE(0x12345678, 2048 + 4)],
      ['version', (b) => (b[2048 + 8] = 2)],
    ];
    for (const [what, spoil] of cases) {
      const bytes = Buffer.from(good);
      spoil(bytes);
      await fs.writeFile(file, bytes);
      await rejects(createBootFlagBackend(configFor('android', file)).status(), 'ABU_ERR_BOOTENV_FORMAT').catch((e) => assert.fail(`${what}: ${e}`));
    }
    const one = await makeAndroidMisc(await tempDir(), HEALTHY.android, ['A']);
    await rejects(createBootFlagBackend(configFor('android', one)).status(), 'ABU_ERR_BOOTENV_FORMAT');
  });

  it('uboot: a fw_env.config that points outside its device', async () => {
    const dir = await tempDir();
    await fs.writeFile(path.join(dir, 'disk.img'), Buffer.alloc(0x4000));
    await fs.writeFile(path.join(dir, 'fw_env.config'), 'disk.img 0x2000 0x4000\n');
    await rejects(createBootFlagBackend(configFor('uboot', path.join(dir, 'fw_env.config'))).status(), 'ABU_ERR_BOOT_BACKEND');
  });
});
