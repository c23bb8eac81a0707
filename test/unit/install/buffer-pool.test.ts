// BufferPool.acquire/release: a daemon's installs reuse one pool; a pool in use or with a buffer out is never shared.
import assert from 'node:assert/strict';
import { BufferPool } from '../../../engine/install/buffer-pool';

const SIZE = 64 * 1024;

describe('buffer pool reuse across installs', () => {
  it('gives the next install of the same geometry the pool the last one released', () => {
    const first = BufferPool.acquire(SIZE, 3);
    first.release();
    const second = BufferPool.acquire(SIZE, 3);
    assert.equal(second, first, 'a fresh pool per install left the previous one mapped until a full GC');
    second.release();
  });

  it('never hands out a pool that is in use: two installs in one process get two pools', () => {
    const a = BufferPool.acquire(SIZE, 3);
    const b = BufferPool.acquire(SIZE, 3);
    assert.notEqual(a, b);
    a.release();
    b.release();
  });

  it('does not keep a pool whose buffer is still out (a failed run), nor reuse one of another geometry', () => {
    const kept = BufferPool.acquire(SIZE, 3);
    kept.release();
    const taken = BufferPool.acquire(SIZE, 3);
    assert.equal(taken, kept);
    taken.take(SIZE); // never given back
    taken.release();
    assert.notEqual(BufferPool.acquire(SIZE, 3), taken);
    const other = BufferPool.acquire(2 * SIZE, 3);
    assert.equal(other.bufferSize, 2 * SIZE);
  });
});
