// Re-derives the PCLMUL fold constants from the polynomial (see crc32_pclmul.cc) and checks the addon uses them.
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
  it('are reflect32(x^(D+32) mod P) << 1 and reflect32(x^(D-32) mod P) << 1 for D = 512 and 128', () => {
    const derived = [512 + 32, 512 - 32, 128 + 32, 128 - 32].map((e) => Number(reflectedConstant(xPowModP(e))));
    assert.deepEqual(crc32Info().foldConstants, derived);
  });

  it('the PCLMUL kernel is selected on CPUs that have pclmulqdq', function () {
    const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
    if (process.arch !== 'x64') this.skip(); // only x86-64 has a PCLMUL kernel
    const has = /\bpclmulqdq\b/.test(cpuinfo);
    assert.equal(crc32Info().kernel, has ? 'pclmul' : 'slice-by-8');
  });
});
