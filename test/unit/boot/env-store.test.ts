// Env storage helpers: sector-granular update plans, in-place writes, and the variable set abu rewrites.
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { changedSectors, FileEnvStore } from '../../../engine/boot/env-store';
import { EnvVars } from '../../../engine/boot/env-vars';
import { tempDir } from '../../contract/boot-fixtures';

describe('env store', () => {
  it('plans whole device sectors that changed, clipped to an unaligned region', () => {
    const region = { device: 'd', offset: 1000, size: 2000 }; // spans sectors 1..5 of the device
    const old = Buffer.alloc(2000);
    const next = Buffer.from(old);
    next[0] = 1; // device byte 1000: sector 1 (1000..1023 inside the region)
    next[1500] = 1; // device byte 2500: sector 4 (2048..2559)
    assert.deepEqual(changedSectors(region, next, old).map((w) => [w.position, w.bytes.length]), [[1000, 24], [2048, 512]]);
    assert.deepEqual(changedSectors(region, old, old), []);
    assert.deepEqual(changedSectors(region, next).map((w) => [w.position, w.bytes.length]), [[1000, 2000]]);
  });

  it('writes in place: the file keeps its inode, its size and the bytes around the region', async () => {
    const file = path.join(await tempDir(), 'img');
    await fs.writeFile(file, Buffer.alloc(8192, 0x11));
    const ino = (await fs.stat(file)).ino;
    const store = await FileEnvStore.open([{ device: file, offset: 4096, size: 1024 }]);
    await store.write(0, Buffer.alloc(1024, 0x22), await store.read(0));
    const after = await fs.readFile(file);
    assert.deepEqual([(await fs.stat(file)).ino, after.length], [ino, 8192]);
    assert.equal(after.subarray(4096, 5120).toString('hex'), '22'.repeat(1024));
    assert.ok(after.subarray(0, 4096).every((b) => b === 0x11) && after.subarray(5120).every((b) => b === 0x11));
  });
});

describe('EnvVars', () => {
  it('reads the last of duplicate names (as libubootenv and GRUB do) and keeps them all, foreign entries and order', () => {
    const v = EnvVars.fromUbootEntries(['a=1', 'noequals', 'b=x=y', 'a=2', '.flags=a:sw']);
    assert.equal(v.get('a'), '2');
    assert.equal(v.get('b'), 'x=y');
    assert.deepEqual(v.toRecord(), { a: '2', b: 'x=y', '.flags': 'a:sw' });
    assert.deepEqual(v.with({ b: '3' }).toUbootEntries(), ['a=1', 'noequals', 'b=3', 'a=2', '.flags=a:sw']);
    assert.deepEqual(v.with({ a: '9' }).toUbootEntries(), ['noequals', 'b=x=y', 'a=9', '.flags=a:sw']);
    assert.deepEqual(v.with({ a: null }).toUbootEntries(), ['noequals', 'b=x=y', '.flags=a:sw']);
  });

  it('changes in place, appends new names and removes null ones, without mutating the original', () => {
    const v = EnvVars.fromRecord({ a: '1', b: '2', c: '3' });
    const w = v.with({ b: '20', d: '4', a: null });
    assert.deepEqual(w.toPairs(), [['b', '20'], ['c', '3'], ['d', '4']]);
    assert.deepEqual(v.toRecord(), { a: '1', b: '2', c: '3' });
  });
});
