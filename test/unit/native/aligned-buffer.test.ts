// allocAligned on both sides of the 2 MiB line where it switches from posix_memalign to huge-page mmap.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { allocAligned } from '../../../native/block-io';

const MiB = 1024 * 1024;
const THP = '/sys/kernel/mm/transparent_hugepage/enabled';

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

  it('maps the part past the last whole 2 MiB with small pages: touching its last byte costs 4 KiB, not a huge page', function () {
    // A pool buffer with zstd's in-place margin is 4 MiB + 132 KiB; its tail faulted in a whole huge page before.
    const thp = existsSync(THP) ? readFileSync(THP, 'utf8') : '';
    if (!/\[(always|madvise)\]/.test(thp)) return this.skip(); // transparent huge pages off: nothing to see
    const bufs = Array.from({ length: 8 }, () => allocAligned(4 * MiB + 132 * 1024));
    const before = rssAnonKiB();
    for (const b of bufs) b[b.length - 1] = 1;
    const grew = rssAnonKiB() - before;
    assert.ok(grew < 1024, `touching the tails of 8 buffers added ${grew} KiB of resident memory (a huge page each would be 16384)`);
  });

  it('refuses sizes and alignments it cannot honour', () => {
    assert.throws(() => allocAligned(-1), RangeError);
    assert.throws(() => allocAligned(4096, 3000), RangeError);
  });
});

function rssAnonKiB(): number {
  return Number(/RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
}
