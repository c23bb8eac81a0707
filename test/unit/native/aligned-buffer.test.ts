// allocAligned on both sides of the 2 MiB line where it switches from posix_memalign to huge-page mmap.
import assert from 'node:assert/strict';
import { allocAligned } from '../../../native/block-io';

const MiB = 1024 * 1024;

describe('native allocAligned', () => {
  for (const size of [0, 1, 4095, 4096, 2 * MiB - 1, 2 * MiB, 2 * MiB + 1, 4 * MiB, 5 * MiB + 123]) {
    it(`gives ${size} zeroed, writable bytes of its own`, () => {
      const a = allocAligned(size);
      const b = allocAligned(size);
      assert.equal(a.length, size);
      assert.ok(a.every((x) => x === 0) && b.every((x) => x === 0), 'fresh memory is zero');
      a.fill(0xa5);
      assert.ok(b.every((x) => x === 0), 'two buffers never share memory');
      assert.ok(a.every((x) => x === 0xa5));
    });
  }

  it('refuses sizes and alignments it cannot honour', () => {
    assert.throws(() => allocAligned(-1), RangeError);
    assert.throws(() => allocAligned(4096, 3000), RangeError);
  });
});
