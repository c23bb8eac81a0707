// The shipped bootloader files are usable as shipped: boot.cmd compiles, grub.cfg parses, configs agree.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseFwEnvConfig } from '../../../engine/boot/fw-env-config';
import { tempDir } from '../../contract/boot-fixtures';
import { haveTools, tool } from './tools';

const dir = path.resolve(__dirname, '..', '..', '..', '..', 'bootloader-config');

describe('bootloader-config files', () => {
  it('boot.cmd compiles into a U-Boot script image with mkimage', async function () {
    if (!(await haveTools('mkimage'))) this.skip(); // CI installs u-boot-tools
    const out = path.join(await tempDir(), 'boot.scr');
    await tool('mkimage', ['-A', 'x86', '-O', 'linux', '-T', 'script', '-C', 'none', '-d', path.join(dir, 'uboot', 'boot.cmd'), out]);
    assert.match(await tool('mkimage', ['-l', out]), /Script/);
  });

  it('grub.cfg passes grub-script-check', async function () {
    if (!(await haveTools('grub-script-check'))) this.skip(); // CI installs grub-common
    await tool('grub-script-check', [path.join(dir, 'grub', 'grub.cfg')]);
  });

  it('the fw_env.config examples parse, and boot.cmd reads the copies fw_env.config names', async () => {
    for (const name of ['fw_env.config', 'fw_env.single.config', 'fw_env.end-of-device.config']) {
      const cfg = parseFwEnvConfig(await fs.readFile(path.join(dir, 'uboot', name), 'utf8'), '/');
      assert.ok(cfg.copies.length >= 1, name);
    }
    const { copies } = parseFwEnvConfig(await fs.readFile(path.join(dir, 'uboot', 'fw_env.config'), 'utf8'), '/');
    const cmd = await fs.readFile(path.join(dir, 'uboot', 'boot.cmd'), 'utf8');
    const lba = (n: number) => parseInt(new RegExp(`setenv abu_env_lba${n} (0x[0-9a-f]+)`).exec(cmd)![1], 16);
    assert.equal(copies.length, 2);
    assert.equal((lba(1) - lba(0)) * 512, copies[1].offset - copies[0].offset);
    assert.equal(copies[0].size, 0x4000);
  });
});
