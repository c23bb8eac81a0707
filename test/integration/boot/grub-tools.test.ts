// Round trips between abu's GRUB env block code and grub-editenv (list/set/create).
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FileEnvStore } from '../../../engine/boot/env-store';
import { EnvVars } from '../../../engine/boot/env-vars';
import { GrubEnvFile } from '../../../engine/boot/grub-env-file';
import { isAbuError } from '../../../engine/core/errors';
import { tempDir } from '../../contract/boot-fixtures';
import { haveTools, parseListing, randomEnv, rng, tool } from './tools';

async function grubFile(file: string): Promise<GrubEnvFile> {
  return new GrubEnvFile(await FileEnvStore.open([{ device: file, offset: 0, size: 1024 }]));
}

async function created(): Promise<string> {
  const file = path.join(await tempDir(), 'grubenv');
  await tool('grub-editenv', [file, 'create']);
  return file;
}

describe('GRUB env block against grub-editenv', function () {
  before(async function () {
    if (!(await haveTools('grub-editenv'))) this.skip(); // CI installs grub-common
  });

  it('grub-editenv lists what abu writes, and abu keeps the file in place (same inode, same size)', async () => {
    const rand = rng(7);
    for (let i = 0; i < 30; i++) {
      const file = await created();
      const ino = (await fs.stat(file)).ino;
      const env = await grubFile(file);
      const vars = randomEnv(rand, 1 + rand(10));
      await env.write(await env.read(), EnvVars.fromRecord(vars));
      assert.deepEqual(parseListing(await tool('grub-editenv', [file, 'list'])), vars, `case ${i}`);
      const st = await fs.stat(file);
      assert.deepEqual([st.ino, st.size], [ino, 1024]);
    }
  });

  it('abu reads what grub-editenv sets, including backslashes, newlines and its warning line', async () => {
    const rand = rng(99);
    for (let i = 0; i < 20; i++) {
      const file = await created();
      // Arguments reach grub-editenv as UTF-8, so this direction uses ASCII values (the other direction covers latin1).
      const vars = Object.fromEntries(Object.entries(randomEnv(rand, 1 + rand(8))).map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, 'h')]));
      vars.ESC = 'back\\slash\nnew line\\';
      await tool('grub-editenv', [file, 'set', ...Object.entries(vars).map(([k, v]) => `${k}=${v}`)]);
      const snap = await (await grubFile(file)).read();
      assert.deepEqual(snap.vars.toRecord(), vars, `case ${i}`);
      assert.ok(snap.vars.toItems().some((c) => c.name === null && c.raw?.startsWith('# WARNING')), 'the Debian warning line is kept as a comment');
    }
  });

  it('an abu rewrite keeps the comment lines and grub-editenv can edit the result', async () => {
    const file = await created();
    await tool('grub-editenv', [file, 'set', 'ORDER=A B', 'A_OK=1']);
    const env = await grubFile(file);
    const snap = await env.read();
    await env.write(snap, snap.vars.with({ ESC: 'a\\b\nc' }));
    const text = (await fs.readFile(file)).toString('latin1');
    assert.match(text, /^# GRUB Environment Block\n# WARNING[^\n]*\nORDER=A B\nA_OK=1\nESC=a\\\\b\\\nc\n#+$/);
    await tool('grub-editenv', [file, 'set', 'B_OK=0']);
    assert.deepEqual((await env.read()).vars.toRecord(), { ORDER: 'A B', A_OK: '1', ESC: 'a\\b\nc', B_OK: '0' });
  });

  it('a block too small for the variables is ABU_ERR_BOOTENV_FULL and the file is unchanged', async () => {
    const file = await created();
    const env = await grubFile(file);
    const before = await fs.readFile(file);
    await assert.rejects(env.write(await env.read(), EnvVars.fromRecord({ BIG: 'x'.repeat(1000) })), (e: unknown) => isAbuError(e, 'ABU_ERR_BOOTENV_FULL'));
    assert.deepEqual(await fs.readFile(file), before);
    await assert.rejects(tool('grub-editenv', [file, 'set', `BIG=${'x'.repeat(1000)}`])); // grub-editenv agrees it cannot fit
  });
});
