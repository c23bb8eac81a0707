// Round trips between abu's U-Boot env code and libubootenv (fw_printenv/fw_setenv) and mkenvimage.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ubootEnvEncode } from '../../../native/bootenv';
import { FileEnvStore } from '../../../engine/boot/env-store';
import { EnvVars } from '../../../engine/boot/env-vars';
import { loadFwEnvConfig } from '../../../engine/boot/fw-env-config';
import { UbootEnv } from '../../../engine/boot/uboot-env';
import { isAbuError } from '../../../engine/core/errors';
import { tempDir, UBOOT_ENV_OFFSET as OFF, UBOOT_ENV_SIZE as SIZE, writeFwEnvConfig } from '../../contract/boot-fixtures';
import { abuRead, haveTools, parseListing, randomEnv, rng, tool } from './tools';

const entries = (vars: Record<string, string>) => Object.entries(vars).map(([k, v]) => `${k}=${v}`);

/** Image with copy 0 = `vars` at flags `f0`; copy 1 (redundant) = `older` at flags `f1`, or erased. */
async function image(dir: string, vars: Record<string, string>, redundant: boolean, f0 = 1, older?: Record<string, string>, f1 = 0) {
  const buf = Buffer.alloc(OFF + 3 * SIZE, 0x5a);
  ubootEnvEncode(entries(vars), { size: SIZE, redundant, flags: f0 }).copy(buf, OFF);
  if (redundant) {
    const second = older ? ubootEnvEncode(entries(older), { size: SIZE, redundant, flags: f1 }) : Buffer.alloc(SIZE, 0xff);
    second.copy(buf, OFF + SIZE);
  }
  const file = path.join(dir, 'disk.img');
  await fs.writeFile(file, buf);
  const cfg = await writeFwEnvConfig(dir, file, redundant ? 2 : 1);
  return { file, cfg, copies: (await loadFwEnvConfig(cfg)).copies };
}

describe('U-Boot env against libubootenv and mkenvimage', function () {
  before(async function () {
    if (!(await haveTools('fw_printenv', 'fw_setenv', 'mkenvimage'))) this.skip(); // CI installs libubootenv-tool and u-boot-tools
  });

  it('fw_printenv reads what abu writes: 40 random envs, single and redundant, flags across the 255 -> 0 wrap', async () => {
    const rand = rng(0x5eed);
    for (let i = 0; i < 40; i++) {
      const dir = await tempDir();
      const redundant = i % 2 === 1;
      const flags = [0, 1, 127, 254, 255][i % 5];
      const { file, cfg, copies } = await image(dir, randomEnv(rand, 3), redundant, flags, randomEnv(rand, 2), (flags + 255) & 0xff);
      const env = new UbootEnv(await FileEnvStore.open(copies));
      const next = randomEnv(rand, 1 + rand(30));
      const before = await fs.readFile(file);
      await env.write(await env.read(), EnvVars.fromRecord(next));
      assert.deepEqual(parseListing(await tool('fw_printenv', ['-c', cfg])), next, `case ${i}`);
      if (redundant) {
        const after = await fs.readFile(file);
        assert.deepEqual(after.subarray(OFF, OFF + SIZE), before.subarray(OFF, OFF + SIZE), 'the copy in use is never touched');
        assert.equal(after[OFF + SIZE + 4], (flags + 1) & 0xff, 'the other copy gets the next flags value');
      }
    }
  });

  it('abu reads what mkenvimage writes: 0x00 and 0xFF padding, single and redundant, both byte orders', async () => {
    const rand = rng(42);
    for (let i = 0; i < 24; i++) {
      const dir = await tempDir();
      const vars = randomEnv(rand, 1 + rand(25));
      const redundant = i % 2 === 0;
      const bigEndian = i % 6 >= 4;
      await fs.writeFile(path.join(dir, 'env.txt'), Buffer.from(entries(vars).join('\n') + '\n', 'latin1'));
      const pad = i % 3 === 0 ? '0x00' : '0xff';
      const args = ['-s', String(SIZE), '-p', pad, ...(redundant ? ['-r'] : []), ...(bigEndian ? ['-b'] : []), '-o', path.join(dir, 'env.bin'), path.join(dir, 'env.txt')];
      await tool('mkenvimage', args);
      const blob = await fs.readFile(path.join(dir, 'env.bin'));
      const disk = Buffer.alloc(OFF + 2 * SIZE, 0xff);
      blob.copy(disk, OFF);
      await fs.writeFile(path.join(dir, 'disk.img'), disk);
      const copies = (await loadFwEnvConfig(await writeFwEnvConfig(dir, path.join(dir, 'disk.img'), redundant ? 2 : 1))).copies;
      assert.deepEqual(await abuRead(copies, bigEndian), vars, `case ${i} (${pad}, ${redundant ? 'redundant' : 'single'}${bigEndian ? ', big-endian' : ''})`);
    }
  });

  it('abu reads what fw_setenv writes, and both pick the same copy through the flag wrap', async () => {
    const dir = await tempDir();
    const { cfg, copies } = await image(dir, { BOOT_ORDER: 'A B', BOOT_A_LEFT: '3' }, true, 254);
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      await tool('fw_setenv', ['-c', cfg, 'BOOT_A_LEFT', String(i)]); // copies alternate, flags 255, 0, 1, ...
      assert.equal((await abuRead(copies)).BOOT_A_LEFT, String(i));
      const env = new UbootEnv(await FileEnvStore.open(copies));
      const snap = await env.read();
      seen.push(`${snap.current}:${snap.flags}`);
      await env.write(snap, snap.vars.with({ BOOT_B_LEFT: String(i) }));
      assert.equal(parseListing(await tool('fw_printenv', ['-c', cfg])).BOOT_B_LEFT, String(i));
    }
    assert.deepEqual(seen, ['1:255', '1:1', '1:3', '1:5', '1:7']);
  });

  it('equal flags pick copy 0, as U-Boot and fw_printenv do', async () => {
    const dir = await tempDir();
    const { cfg, copies } = await image(dir, { x: 'copy0' }, true, 7, { x: 'copy1' }, 7);
    assert.equal((await abuRead(copies)).x, 'copy0');
    assert.equal(parseListing(await tool('fw_printenv', ['-c', cfg])).x, 'copy0');
  });

  it('a torn newer copy (first 64 bytes zeroed) makes both readers use the older copy', async () => {
    const dir = await tempDir();
    const { file, cfg, copies } = await image(dir, { upgrade_available: '0' }, true, 1, { upgrade_available: '1' }, 2);
    const disk = await fs.readFile(file);
    disk.fill(0, OFF + SIZE, OFF + SIZE + 64);
    await fs.writeFile(file, disk);
    assert.equal((await abuRead(copies)).upgrade_available, '0');
    assert.equal(parseListing(await tool('fw_printenv', ['-c', cfg])).upgrade_available, '0');
  });

  it('no valid copy (single or both redundant) is ABU_ERR_BOOTENV_CORRUPT, never defaults', async () => {
    for (const redundant of [false, true]) {
      const dir = await tempDir();
      const { file, copies } = await image(dir, { a: '1' }, redundant, 1, { a: '2' }, 0);
      const disk = await fs.readFile(file);
      disk[OFF + 100] ^= 1;
      disk[OFF + SIZE + 100] ^= 1;
      await fs.writeFile(file, disk);
      await assert.rejects(abuRead(copies), (e: unknown) => isAbuError(e, 'ABU_ERR_BOOTENV_CORRUPT'));
    }
  });
});
