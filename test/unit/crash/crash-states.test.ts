// How the crash campaign builds crash states from a recorded write/flush sequence (test/crash/crash-states.ts).
import assert from 'node:assert/strict';
import { boundedSubsets, crashStates, type CrashBound } from '../../crash/crash-states';
import type { LoggedOp } from '../../crash/write-log';

const w = (file: string, position: number, fill: number): LoggedOp => ({ kind: 'write', source: 'slot', file, position, bytes: Buffer.alloc(4, fill) });
const flush = (file: string): LoggedOp => ({ kind: 'flush', file });
const persistedSets = (ops: LoggedOp[], bound?: CrashBound) => crashStates(ops, bound).map((s) => s.persisted.join(','));

describe('crash states', () => {
  it('a flushed write is in every later state; unflushed writes appear in every subset', () => {
    const ops = [w('d', 0, 1), flush('d'), w('d', 4, 2), w('d', 8, 3), flush('d')];
    assert.deepEqual(persistedSets(ops).sort(), ['', '0', '0,2', '0,2,3', '0,3'].sort());
  });

  it('a flush covers only its own file: the other file\'s write stays optional', () => {
    const ops = [w('slot', 0, 1), w('env', 0, 2), flush('env')];
    const sets = persistedSets(ops);
    assert.ok(sets.includes('1'), 'env durable while the slot write was lost');
    assert.ok(sets.includes('0,1'));
  });

  it('a rename is durable only once its folder is flushed', () => {
    const rename: LoggedOp = { kind: 'rename', file: 's/state.json', dir: 's', bytes: Buffer.from('{}') };
    assert.deepEqual(persistedSets([rename, w('d', 0, 1)]).sort(), ['', '0', '0,1', '1']);
    assert.deepEqual(persistedSets([rename, flush('s'), w('d', 0, 1)]).sort(), ['', '0', '0,2'], 'no state has the write without the rename');
  });

  it('states that leave the same bytes count once (the same sector rewritten with equal bytes)', () => {
    const ops = [w('d', 0, 1), w('d', 0, 1)];
    assert.deepEqual(persistedSets(ops), ['', '0']);
  });

  it('beyond the all-subsets bound: keep/lose at most k, plus seeded samples that repeat exactly', () => {
    const bound: CrashBound = { allSubsetsUpTo: 3, k: 1, samples: 5, seed: 42 };
    const pending = [10, 11, 12, 13, 14];
    const subsets = boundedSubsets(pending, bound);
    assert.deepEqual(subsets[0], pending, 'the prefix state (everything issued reached the medium) comes first');
    for (const s of [[], [12], [10, 11, 13, 14]]) assert.ok(subsets.some((x) => x.join() === s.join()), `missing ${s}`);
    assert.equal(subsets.length, 1 + 2 * 6 + 5);
    assert.deepEqual(boundedSubsets(pending, bound), subsets);
    assert.equal(boundedSubsets([1, 2, 3], bound).length, 8, 'all 2^3 subsets within the bound');
  });
});
