// Replays the kept fuzz corpora (seeds made by the real tools, and any crasher found since) as regression tests:
// every JavaScript input parses or throws a catalogued AbuError, and every native input goes through the addon's
// codec (not the harness build) to a result or a coded error. Needs no clang: it runs wherever the addon builds.
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { androidBootControlDecode, grubEnvDecode, ubootEnvDecode, ubootEnvSelect } from '../../native/bootenv';
import { REPO, seeds, TARGETS } from '../../fuzz/js/run';

const CORPUS = path.join(REPO, 'fuzz', 'corpus');

function files(target: string): Array<[string, Buffer]> {
  return readdirSync(path.join(CORPUS, target)).sort().map((f) => [f, readFileSync(path.join(CORPUS, target, f))]);
}

/** A native decode either returns or throws an Error whose code is an ABU_ERR_* code. */
function codedOrResult(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    assert.match(String((e as { code?: string }).code), /^ABU_ERR_/, String(e));
  }
}

describe('fuzz corpora replay', () => {
  for (const target of TARGETS) {
    it(`js/${target.name}: every kept input parses or throws a typed error`, async () => {
      assert.ok(seeds(target.name).length > 0, `fuzz/corpus/${target.name} is empty`);
      for (const [name, input] of files(target.name)) {
        await assert.doesNotReject(async () => target.run(input), `fuzz/corpus/${target.name}/${name}`);
      }
    });
  }

  it('native U-Boot single and redundant inputs decode through the addon as the harnesses read them', () => {
    for (const [, input] of files('uboot_env_single')) {
      codedOrResult(() => ubootEnvDecode(input.subarray(1), { redundant: false, bigEndian: (input[0] & 1) === 1 }));
    }
    for (const [name, input] of files('uboot_env_redundant')) {
      const half = (input.length - 1) >> 1;
      const copies = [input.subarray(1, 1 + half), input.subarray(1 + half, 1 + 2 * half)];
      const bigEndian = (input[0] & 1) === 1;
      const { index } = ubootEnvSelect(copies[0], copies[1], bigEndian);
      if (name.startsWith('fw_setenv') || name.startsWith('mkenvimage')) assert.notEqual(index, -1, `${name}: the real tool's pair has no valid copy`);
      if (index >= 0) codedOrResult(() => ubootEnvDecode(copies[index], { redundant: true, bigEndian }));
    }
  });

  it('native GRUB and bootloader_control inputs decode through the addon', () => {
    for (const [name, input] of files('grub_env')) {
      if (name.startsWith('grub-editenv')) assert.ok(grubEnvDecode(input).entries, name);
      else codedOrResult(() => grubEnvDecode(input));
    }
    for (const [, input] of files('android_boot_control')) {
      const b = Buffer.alloc(32);
      input.copy(b);
      codedOrResult(() => androidBootControlDecode(b));
    }
  });
});
