// The adaptive plan (pure): which chunks are skipped, copied or fetched, and how fetched chunks coalesce into runs.
import assert from 'node:assert/strict';
import { chunkExtents } from '../../../engine/bundle/chunk-layout';
import type { ImageEntry } from '../../../engine/bundle/manifest';
import { fetchRuns, planChunks, type LocalIndex } from '../../../engine/install/adaptive-plan';

const KIB = 1024;

function entry(size: number, chunkSize: number, crcs: number[], offset = 0): ImageEntry {
  return { name: 'rootfs', slotClass: 'rootfs', size, chunkSize, chunkCrc32: crcs, chunkSha256: crcs.map(() => Buffer.alloc(32)), sha256: Buffer.alloc(32), offset, compression: 'none' };
}

function index(targetHolds: boolean[], booted: [number, number, number][]): LocalIndex {
  const map: LocalIndex['booted'] = new Map();
  for (const [crc, offset, length] of booted) map.set(crc, [...(map.get(crc) ?? []), { offset, length }]);
  return { targetHolds, booted: map };
}

describe('adaptive plan', () => {
  it('skips what the target holds, copies what the booted slot holds, fetches the rest', () => {
    const e = entry(4 * 64 * KIB, 64 * KIB, [11, 22, 33, 44]);
    const actions = planChunks(e, index([true, false, false, false], [[11, 0, 64 * KIB], [22, 64 * KIB, 64 * KIB], [44, 0, 64 * KIB]]));
    assert.deepEqual(actions, [{ kind: 'skip' }, { kind: 'copy', from: [64 * KIB] }, { kind: 'fetch' }, { kind: 'copy', from: [0] }]);
  });

  it('tries the same position first among several candidates', () => {
    const e = entry(3 * 64 * KIB, 64 * KIB, [7, 7, 7]);
    const actions = planChunks(e, index([false, false, false], [[7, 0, 64 * KIB], [7, 64 * KIB, 64 * KIB], [7, 128 * KIB, 64 * KIB]]));
    assert.deepEqual(actions.map((a) => (a.kind === 'copy' ? a.from[0] : -1)), [0, 64 * KIB, 128 * KIB]);
  });

  it('matches the short last chunk only against a piece of the same length', () => {
    const e = entry(64 * KIB + 100, 64 * KIB, [1, 9]);
    assert.deepEqual(planChunks(e, index([false, false], [[9, 64 * KIB, 64 * KIB]]))[1], { kind: 'fetch' });
    assert.deepEqual(planChunks(e, index([false, false], [[9, 64 * KIB, 100]]))[1], { kind: 'copy', from: [64 * KIB] });
  });

  it('coalesces adjacent chunks into one run, splits at gaps and at the run limit', () => {
    const e = entry(10 * 64 * KIB, 64 * KIB, new Array(10).fill(0), 8192);
    const extents = chunkExtents(e, 4096);
    assert.deepEqual(extents[0], { offset: 4096 + 8192, length: 64 * KIB });
    const runs = fetchRuns([7, 2, 3, 4, 9], extents);
    assert.deepEqual(runs.map((r) => [r.offset, r.length, r.chunks]), [
      [12288 + 2 * 64 * KIB, 3 * 64 * KIB, [2, 3, 4]],
      [12288 + 7 * 64 * KIB, 64 * KIB, [7]],
      [12288 + 9 * 64 * KIB, 64 * KIB, [9]],
    ]);
    assert.deepEqual(fetchRuns([0, 1, 2, 3], extents, 2 * 64 * KIB).map((r) => r.chunks), [[0, 1], [2, 3]]);
  });

  it('gives the short last chunk its own length', () => {
    const extents = chunkExtents(entry(64 * KIB + 100, 64 * KIB, [1, 2]), 0);
    assert.deepEqual(extents, [{ offset: 0, length: 64 * KIB }, { offset: 64 * KIB, length: 100 }]);
  });
});
