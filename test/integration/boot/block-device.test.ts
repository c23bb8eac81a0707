// The uboot backend on a real block device (loop): negative offsets from the device end, fw_printenv agreeing.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ubootEnvEncode } from '../../../native/bootenv';
import { createBootFlagBackend } from '../../../engine/boot/registry';
import { tempDir } from '../../contract/boot-fixtures';
import { haveTools, parseListing, tool } from './tools';

const SIZE = 4 * 1024 * 1024;

describe('U-Boot env on a loop block device', function () {
  let loop = '';
  let dir = '';

  before(async function () {
    if (process.getuid?.() !== 0 || !(await haveTools('losetup', 'fw_printenv'))) this.skip(); // needs root and loop devices (CI)
    dir = await tempDir();
    const img = Buffer.alloc(SIZE, 0xee);
    ubootEnvEncode(['BOOT_ORDER=A B', 'BOOT_A_LEFT=3', 'BOOT_B_LEFT=3'], { size: 0x4000, redundant: true, flags: 5 }).copy(img, SIZE - 0x8000);
    await fs.writeFile(path.join(dir, 'disk.img'), img);
    try {
      loop = (await tool('losetup', ['-f', '--show', path.join(dir, 'disk.img')])).trim();
    } catch {
      this.skip(); // no free loop device on this machine
    }
    await fs.writeFile(path.join(dir, 'fw_env.config'), `${loop} -0x8000 0x4000\n${loop} -0x4000 0x4000\n`);
  });

  after(async () => {
    if (loop) await tool('losetup', ['-d', loop]);
  });

  it('resolves offsets from the device end, writes the other copy and fw_printenv reads the result', async () => {
    const cfg = path.join(dir, 'fw_env.config');
    const backend = createBootFlagBackend({ kind: 'uboot', slots: ['A', 'B'], options: { fwEnvConfig: cfg } });
    await backend.markBad('B');
    await backend.activate('B');
    assert.deepEqual(parseListing(await tool('fw_printenv', ['-c', cfg])), { ABU_TRYING: 'B', BOOT_A_LEFT: '3', BOOT_B_LEFT: '3', BOOT_ORDER: 'B A' });
    const image = await fs.readFile(path.join(dir, 'disk.img'));
    assert.deepEqual([image[SIZE - 0x8000 + 4], image[SIZE - 0x4000 + 4]], [7, 6], 'two writes alternate copies with flags 6, 7');
    assert.equal((await backend.status()).find((s) => s.primary)?.slot, 'B');
  });
});
