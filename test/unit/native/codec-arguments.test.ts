// The boot-env codecs' arguments are checked at the addon boundary: an out-of-range size or a malformed slot is an
// ABU_ERR_* error, never a dead process. Each call runs in a child process, because before the checks a negative
// or huge size became a multi-gigabyte allocation that aborted node, and a test in this process would die with it.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const FACADE = path.resolve(__dirname, '..', '..', '..', 'native', 'bootenv');

/** Runs `call` (an expression over the facade `b`) in a fresh node; returns what it threw, or "returned". */
function outcome(call: string): string {
  const script = `const b = require(${JSON.stringify(FACADE)});
    try { ${call}; console.log('returned'); } catch (e) { console.log(e.code ?? e.constructor.name); }`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 ? r.stdout.trim() : `exit ${r.status} signal ${r.signal}: ${r.stderr.split('\n').slice(0, 3).join(' ')}`;
}

const ANDROID = `{ slotSuffix: '_a', magic: b.ANDROID_BOOT_CTRL_MAGIC, version: 1, nbSlot: 2, recoveryTriesRemaining: 0, mergeStatus: 0, slots: %s }`;

describe('boot-env codec arguments (addon boundary)', () => {
  for (const size of ['-1', '2 ** 40', 'NaN', '1.5', "'4096'"]) {
    it(`ubootEnvEncode with size ${size} is ABU_ERR_BOOTENV_FORMAT, not a crash`, () => {
      assert.equal(outcome(`b.ubootEnvEncode(['a=b'], { size: ${size}, redundant: true })`), 'ABU_ERR_BOOTENV_FORMAT');
    });
    it(`grubEnvEncode with size ${size} is a typed error, not a crash`, () => {
      const got = outcome(`b.grubEnvEncode({ entries: [['a', 'b']], comments: [] }, ${size})`);
      // A non-number never reaches the size check: the argument check refuses it as a TypeError, as before.
      assert.equal(got, size === "'4096'" ? 'TypeError' : 'ABU_ERR_BOOTENV_FORMAT');
    });
  }

  it('still encodes ordinary sizes, including the largest allowed', () => {
    assert.equal(outcome(`if (b.ubootEnvEncode(['a=b'], { size: 64 * 1024 * 1024, redundant: false }).length !== 64 * 1024 * 1024) throw 0`), 'returned');
    assert.equal(outcome(`if (b.grubEnvEncode({ entries: [['a', 'b']], comments: [] }, 1024).length !== 1024) throw 0`), 'returned');
  });

  for (const slots of ['[5]', '[null]', "['x']", '[[1, 2]]']) {
    it(`androidBootControlEncode with slots ${slots} is ABU_ERR_BOOTENV_FORMAT, not a crash`, () => {
      assert.equal(outcome(`b.androidBootControlEncode(${ANDROID.replace('%s', slots)})`), 'ABU_ERR_BOOTENV_FORMAT');
    });
  }
});
