// fw_env.config parsing (libubootenv legacy format) and region resolution against a real file.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { resolveRegions } from '../../../engine/boot/env-store';
import { parseFwEnvConfig } from '../../../engine/boot/fw-env-config';
import { isAbuError } from '../../../engine/core/errors';
import { tempDir } from '../../contract/boot-fixtures';

const refuses = (text: string) => assert.throws(() => parseFwEnvConfig(text, '/x'), (e: unknown) => isAbuError(e, 'ABU_ERR_BOOT_BACKEND'), text);

describe('fw_env.config parser', () => {
  it('reads numbers as libubootenv does: offset in hex, decimal or octal; size and sector fields in hex even without 0x', () => {
    assert.deepEqual(parseFwEnvConfig('# comment\n/dev/mmcblk0 0x3800000 0x4000 0x200 16\n', '/'), {
      copies: [{ device: '/dev/mmcblk0', offset: 0x3800000, size: 0x4000, sectorSize: 0x200, numSectors: 0x16 }],
    });
    assert.deepEqual(parseFwEnvConfig('/f 4096 010\t# env', '/').copies, [{ device: '/f', offset: 4096, size: 0x10 }]);
    assert.deepEqual(parseFwEnvConfig('/f 020000 2000 zz', '/').copies, [{ device: '/f', offset: 0o20000, size: 0x2000 }]);
  });

  it('skips lines without device, offset and size, and reads only the first two environments', () => {
    const cfg = parseFwEnvConfig('/a 0x0 4000\nshort line\n/a 0x4000 4000\n/a 0x8000 4000\n/b 0 8\n', '/');
    assert.deepEqual(cfg.copies.map((c) => [c.device, c.offset, c.size]), [['/a', 0, 0x4000], ['/a', 0x4000, 0x4000]]);
  });

  it('reads a redundant pair, negative offsets and paths relative to the config folder', () => {
    const cfg = parseFwEnvConfig('disk.img -0x8000 0x4000\n\n  disk.img   -0x4000   0x4000  \n', '/cfg');
    assert.deepEqual(cfg.copies.map((c) => [c.device, c.offset, c.size]), [['/cfg/disk.img', -0x8000, 0x4000], ['/cfg/disk.img', -0x4000, 0x4000]]);
  });

  it('refuses empty, unequal-size, too small and too large configs', () => {
    for (const text of ['', '# only a comment', '/a 0 0x4000\n/a 0x4000 0x2000',
      '/a 0', '/a zero 0x4000', '/a 0 -0x4000', '/a 0 4', '/a 0 4000001', '/a 0 ffffffffffffff']) refuses(text);
  });

  it('resolves a negative offset from the end of the file and refuses regions outside it', async () => {
    const file = path.join(await tempDir(), 'disk.img');
    await fs.writeFile(file, Buffer.alloc(0x10000));
    assert.deepEqual(await resolveRegions([{ device: file, offset: -0x4000, size: 0x4000 }]), [{ device: file, offset: 0xc000, size: 0x4000 }]);
    await assert.rejects(resolveRegions([{ device: file, offset: 0xe000, size: 0x4000 }]), (e: unknown) => isAbuError(e, 'ABU_ERR_BOOT_BACKEND'));
    await assert.rejects(resolveRegions([{ device: `${file}.missing`, offset: 0, size: 16 }]), (e: unknown) => isAbuError(e, 'ABU_ERR_IO'));
  });
});
