// The real tools' edges (issue 11, point 5): envs built by libubootenv, mkenvimage and grub-editenv that abu's
// own writes never make. Each case: abu reads what the tool reads; after an abu write the tool shows abu's keys
// as written and every other key as before.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FileEnvStore } from '../../../engine/boot/env-store';
import { EnvVars } from '../../../engine/boot/env-vars';
import { loadFwEnvConfig } from '../../../engine/boot/fw-env-config';
import { GrubEnvFile } from '../../../engine/boot/grub-env-file';
import { createBootFlagBackend } from '../../../engine/boot/registry';
import { UbootEnv } from '../../../engine/boot/uboot-env';
import { isAbuError } from '../../../engine/core/errors';
import { configFor, HEALTHY, tempDir } from '../../contract/boot-fixtures';
import { haveTools, parseListing, tool } from './tools';

const SIZE = 0x1000;

/** A disk of `copies` mkenvimage-built envs (`-r` when two) at 0x2000, 0x3000, ... */
async function ubootDisk(dir: string, text: string, copies: number): Promise<string> {
  await fs.writeFile(path.join(dir, 'env.txt'), text);
  await tool('mkenvimage', ['-s', String(SIZE), ...(copies > 1 ? ['-r'] : []), '-o', path.join(dir, 'env.bin'), path.join(dir, 'env.txt')]);
  const blob = await fs.readFile(path.join(dir, 'env.bin'));
  const disk = Buffer.alloc(0x2000 + 4 * SIZE, 0xff);
  for (let i = 0; i < copies; i++) blob.copy(disk, 0x2000 + i * SIZE);
  const file = path.join(dir, 'disk.img');
  await fs.writeFile(file, disk);
  return file;
}

const printenv = async (cfg: string) => parseListing(await tool('fw_printenv', ['-c', cfg]));

/** abu sets `changes` through UbootEnv; fw_printenv must then show `before` with exactly those changes. */
async function abuSetAndCompare(cfg: string, before: Record<string, string>, changes: Record<string, string>) {
  const env = new UbootEnv(await FileEnvStore.open((await loadFwEnvConfig(cfg)).copies));
  const snap = await env.read();
  assert.deepEqual(snap.vars.toRecord(), before, 'abu reads what fw_printenv reads');
  await env.write(snap, snap.vars.with(changes));
  assert.deepEqual(await printenv(cfg), { ...before, ...changes }, 'fw_printenv after the abu write');
}

describe('the real tools\' edges: U-Boot env (libubootenv, mkenvimage)', function () {
  before(async function () {
    if (!(await haveTools('fw_printenv', 'fw_setenv', 'mkenvimage'))) this.skip(); // CI installs libubootenv-tool and u-boot-tools
  });

  it('(a) fw_env.config sizes in hex without 0x, an octal offset, and a third line, as libubootenv reads them', async () => {
    const dir = await tempDir();
    const disk = await ubootDisk(dir, 'a=1\nb=two\n', 3);
    const cfg = path.join(dir, 'fw_env.config');
    // 020000 is 0x2000 (base 0, like strtoll), 1000 is 0x1000 (%zx); libubootenv stops after two environments.
    await fs.writeFile(cfg, `${disk} 020000 1000\n${disk} 0x3000 1000\n${disk} 0x4000 1000\n`);
    const before = await printenv(cfg);
    assert.deepEqual(before, { a: '1', b: 'two' });
    await abuSetAndCompare(cfg, before, { c: '3' });
    assert.equal(parseListing(await tool('fw_printenv', ['-c', cfg, 'c'])).c, '3');
  });

  it('(b) an env fw_setenv filled to its last byte: read, status and mark-good work, and fw_printenv agrees after', async () => {
    const dir = await tempDir();
    const text = Object.entries(HEALTHY.uboot).map(([k, v]) => `${k}=${v}\n`).join('');
    const disk = await ubootDisk(dir, text, 1);
    const cfg = path.join(dir, 'fw_env.config');
    await fs.writeFile(cfg, `${disk} 0x2000 0x${SIZE.toString(16)}\n`);
    const used = Buffer.byteLength(text) + 'FILL=\n'.length; // each entry and its NUL
    await tool('fw_setenv', ['-c', cfg, 'FILL', 'f'.repeat(SIZE - 4 - used)]);
    const bytes = await fs.readFile(disk);
    assert.deepEqual([bytes[0x2000 + SIZE - 2] !== 0, bytes[0x2000 + SIZE - 1]], [true, 0], 'no double NUL before the end');
    // fw_printenv reads such an env only when the byte after its buffer happens to be NUL (libubootenv walks one
    // past the area; at this size it does not), so the reference is what fw_setenv was told and U-Boot reads.
    const before = { ...HEALTHY.uboot, FILL: 'f'.repeat(SIZE - 4 - used) };
    const backend = createBootFlagBackend(configFor('uboot', cfg));
    assert.equal((await backend.status()).length, 2);
    await backend.markGood('A'); // A is already good: nothing to write
    assert.deepEqual(await fs.readFile(disk), bytes);
    // abu writes the list's terminator as U-Boot's saveenv does, so a full env takes a change that frees a byte.
    await assert.rejects(abuSetAndCompare(cfg, before, { BOOT_B_LEFT: '2' }), (e: unknown) => isAbuError(e, 'ABU_ERR_BOOTENV_FULL'));
    await abuSetAndCompare(cfg, before, { BOOT_B_LEFT: '2', FILL: before.FILL.slice(1) });
  });

  it('(c) duplicate names: abu reads the last, as fw_printenv does, and an unrelated write keeps what it shows', async () => {
    for (const copies of [1, 2]) {
      const dir = await tempDir();
      const disk = await ubootDisk(dir, 'x=first\nb=2\nx=last\n', copies);
      const cfg = path.join(dir, 'fw_env.config');
      await fs.writeFile(cfg, [0, 1].slice(0, copies).map((i) => `${disk} 0x${(0x2000 + i * SIZE).toString(16)} 0x1000\n`).join(''));
      const before = await printenv(cfg);
      assert.deepEqual(before, { x: 'last', b: '2' });
      await abuSetAndCompare(cfg, before, { b: '3' });
      await abuSetAndCompare(cfg, { x: 'last', b: '3' }, { x: 'new' });
    }
  });

  it('(e) a size above 4 GiB in fw_env.config, on a device that holds it, is ABU_ERR_BOOT_BACKEND, not a RangeError', async () => {
    const dir = await tempDir();
    const disk = await ubootDisk(dir, 'a=1\n', 1);
    await fs.truncate(disk, 0x2000 + 0x100001000); // sparse: the region lies inside the device
    const cfg = path.join(dir, 'fw_env.config');
    await fs.writeFile(cfg, `${disk} 0x2000 0x100001000\n`);
    try {
      await assert.rejects(createBootFlagBackend(configFor('uboot', cfg)).status(), (e: unknown) => isAbuError(e, 'ABU_ERR_BOOT_BACKEND'));
    } finally {
      await fs.rm(dir, { recursive: true });
    }
  });
});

const SIG = '# GRUB Environment Block\n';

/** grub-editenv's listing as [name, value] lines, in order (names may hold newlines: split on what abu wrote). */
const listing = (pairs: Array<[string, string]>) => pairs.map(([k, v]) => `${k}=${v}\n`).join('');

describe('the real tools\' edges: GRUB env block (grub-editenv)', function () {
  before(async function () {
    if (!(await haveTools('grub-editenv'))) this.skip(); // CI installs grub-common
  });

  // grub-editenv creates and sets; the odd bytes are then patched in, as another tool or a hand edit leaves them.
  const cases: Array<[string, (body: string) => string, string]> = [
    ['NUL padding', (b) => b, '\0'],
    ['space padding', (b) => b, ' '],
    ['an empty line, a line without =, a comment', (b) => b.replace('B=2\n', '\nB=2\nJUNK\n# kept comment\nC=3\n'), '#'],
    ['a name with a backslash, a NUL inside a value', (b) => b.replace('B=2\n', 'N\\AME=x\nD=v\0cut\n'), '#'],
    ['a broken last line before NUL padding', (b) => `${b}BROKEN`, '\0'],
  ];
  for (const [label, patch, pad] of cases) {
    it(`(d) ${label}: abu lists what grub-editenv lists, and after an abu write only abu's key changed`, async () => {
      const file = path.join(await tempDir(), 'grubenv');
      await tool('grub-editenv', [file, 'create']);
      await tool('grub-editenv', [file, 'set', 'A=1', 'B=2']);
      const created = (await fs.readFile(file)).toString('latin1');
      const body = created.slice(0, created.search(/#*$/)); // signature, warning line, variables
      await fs.writeFile(file, Buffer.from(patch(body).padEnd(1024, pad), 'latin1'));
      const grub = new GrubEnvFile(await FileEnvStore.open([{ device: file, offset: 0, size: 1024 }]));
      const snap = await grub.read();
      assert.equal(listing(snap.vars.toPairs()), await tool('grub-editenv', [file, 'list']));
      const next = snap.vars.with({ A: 'changed', ABU: 'new' });
      await grub.write(snap, next);
      assert.equal(await tool('grub-editenv', [file, 'list']), listing(next.toPairs()));
      // Lines abu did not change keep their bytes and place; A changes in place, ABU goes after the last line
      // GRUB reads, then the tail: re-padded with '#' when it is padding only, else kept (padded with its own byte).
      const [lines, tail] = label.includes('broken') ? [body, 'BROKEN'] : [patch(body), ''];
      const expected = (lines.replace('A=1\n', 'A=changed\n') + 'ABU=new\n' + tail).padEnd(1024, tail ? pad : '#');
      assert.equal((await fs.readFile(file)).toString('latin1'), expected);
      if (/^[\0 ]$/.test(pad) && !label.includes('broken')) {
        await tool('grub-editenv', [file, 'set', 'AFTER=1']); // re-padded with '#': GRUB's own writer finds room again
        assert.match(await tool('grub-editenv', [file, 'list']), /AFTER=1\n$/);
      }
    });
  }
});
