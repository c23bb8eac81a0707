// ServeBudget: the replica fetches one daemon serves share one byte budget, so memory does not grow with pullers.
import { strict as assert } from 'node:assert';
import { ServeBudget } from '../../../engine/transports/http/serve-budget';

const MIB = 1024 * 1024;

describe('ServeBudget', () => {
  it('gives a lone fetch its own cap', () => {
    const b = new ServeBudget(24 * MIB, 256 * 1024);
    const leave = b.enter();
    assert.equal(b.share(4 * MIB), 4 * MIB);
    leave();
  });

  it('splits the budget among many fetches, so their queued bytes together stay within it', () => {
    const b = new ServeBudget(24 * MIB, 256 * 1024);
    const leaves = Array.from({ length: 60 }, () => b.enter());
    const share = b.share(4 * MIB);
    assert.ok(share * 60 <= 24 * MIB, `60 fetches may queue ${(share * 60) / MIB} MiB`);
    assert.ok(share >= 256 * 1024);
    for (const leave of leaves) leave();
    assert.equal(b.fetches, 0);
  });

  it('never goes below the floor, so every fetch still moves', () => {
    const b = new ServeBudget(1 * MIB, 256 * 1024);
    const leaves = Array.from({ length: 100 }, () => b.enter());
    assert.equal(b.share(4 * MIB), 256 * 1024);
    for (const leave of leaves) leave();
  });

  it('counts a fetch out once, however many times it leaves (close and the end both call it)', () => {
    const b = new ServeBudget();
    const leave = b.enter();
    b.enter();
    leave();
    leave();
    assert.equal(b.fetches, 1);
  });
});
