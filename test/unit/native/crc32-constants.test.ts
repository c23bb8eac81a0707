// Re-derives the CRC-32 fold constants from the polynomial (see crc32_fold_constants.h) and checks the addon uses them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { crc32Info } from '../../../native/crc32';

const P = 0x104c11db7n; // x^32 + the IEEE polynomial, unreflected

/** x^e mod P by shift-and-xor: multiply by x, subtract P whenever degree 32 appears. */
function xPowModP(e: number): bigint {
  let r = 1n;
  for (let i = 0; i < e; i++) {
    r <<= 1n;
    if (r & 0x100000000n) r ^= P;
  }
  return r;
}

/** reflect32(r) << 1: r's x^i coefficient lands on bit 32 - i. */
function reflectedConstant(r: bigint): bigint {
  let out = 0n;
  for (let i = 0n; i < 32n; i++) if ((r >> i) & 1n) out |= 1n << (32n - i);
  return out;
}

describe('native crc32 fold constants', () => {
  it('are reflect32(x^(D+32) mod P) << 1 (low) and reflect32(x^(D-32) mod P) << 1 (high) for every distance D', () => {
    const used = crc32Info().foldConstants;
    assert.deepEqual(used.map((k) => k.distanceBits), [128, 256, 384, 512, 2048]);
    for (const { distanceBits: d, low, high } of used) {
      assert.equal(low, Number(reflectedConstant(xPowModP(d + 32))), `low constant for D=${d}`);
      assert.equal(high, Number(reflectedConstant(xPowModP(d - 32))), `high constant for D=${d}`);
    }
  });

  it('the fastest kernel the CPU supports is selected', function () {
    if (process.arch !== 'x64') this.skip(); // only x86-64 has folding kernels
    const flags = new Set(/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1].trim().split(/\s+/));
    const want = flags.has('avx512f') && flags.has('vpclmulqdq') ? 'vpclmul-avx512' : flags.has('pclmulqdq') ? 'pclmul' : 'slice-by-8';
    assert.equal(crc32Info().kernel, want);
  });
});
