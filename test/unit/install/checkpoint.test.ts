// The resume checkpoint's file and recorder. The slot handle is a fake that logs calls (the seam under test is the
// order of datasync and save, which a real disk cannot show); the checkpoint file is real, in a temp folder.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CheckpointFile, flagsOf, runsOf } from '../../../engine/install/checkpoint';
import { CheckpointRecorder } from '../../../engine/install/checkpoint-recorder';
import type { ImageEntry } from '../../../engine/bundle/manifest';
import type { SlotHandle } from '../../../engine/slots/slot-store';
import { tempDir } from '../../helpers/bundle-fixtures';

const CHUNK = 4096;

describe('resume checkpoint', () => {
  let dir: { dir: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir('abu-checkpoint-');
  });
  afterEach(async () => dir.cleanup());

  it('runs and flags convert both ways', () => {
    const flags = [true, true, false, true, false, false, true];
    assert.deepEqual(runsOf(flags), [[0, 2], [3, 4], [6, 7]]);
    assert.deepEqual(flagsOf(runsOf(flags), flags.length), flags);
    assert.deepEqual(runsOf([]), []);
  });

  it('a missing, malformed or foreign file loads as no checkpoint', async () => {
    const file = new CheckpointFile(dir.dir);
    assert.equal(await file.load(), null);
    for (const text of ['{', '[]', JSON.stringify({ schema: 'other' }), JSON.stringify({ schema: 'abu.checkpoint/1', manifestSha256: 'x', slot: 'B', images: [{ name: 'r', device: '/d', offset: 0, chunkSize: 1, chunks: 2, done: [[1, 5]] }], savedAt: '' })]) {
      await fs.writeFile(file.file, text);
      assert.equal(await file.load(), null, text);
    }
  });

  it('saves only chunks whose write settled before a datasync, and the datasync comes first', async () => {
    const calls: string[] = [];
    const handle = fakeHandle(calls);
    const file = new CheckpointFile(dir.dir);
    const rec = new CheckpointRecorder(file, { manifestSha256: 'ab'.repeat(32), slot: 'B', version: '1.1.0' }, [{ entry: entry(8), handle }], 0, () => assert.fail('no warning expected'));
    const wrapped = rec.wrap(0);
    await wrapped.verifyAndWrite(Buffer.alloc(CHUNK), 0, 0, Buffer.alloc(32));
    await wrapped.verifyAndWrite(Buffer.alloc(CHUNK), 2 * CHUNK, 0, Buffer.alloc(32));
    rec.markHeld(0, [false, false, false, false, false, false, true, true]);
    await rec.idle();
    await rec.saveNow();
    const cp = (await file.load())!;
    assert.deepEqual(cp.images[0].done, [[0, 1], [2, 3], [6, 8]]);
    assert.equal(calls[0], 'write 0');
    assert.ok(calls.indexOf('datasync') > calls.indexOf('write 0'), `datasync after the writes: ${calls.join(', ')}`);
  });

  it('a stalled source still gets its written chunks saved within the interval', async () => {
    const file = new CheckpointFile(dir.dir);
    const rec = new CheckpointRecorder(file, { manifestSha256: 'cd'.repeat(32), slot: 'B', version: '1.1.0' }, [{ entry: entry(4), handle: fakeHandle([]) }], 50, () => undefined);
    await rec.wrap(0).verifyAndWrite(Buffer.alloc(CHUNK), CHUNK, 0, Buffer.alloc(32));
    assert.equal(await file.load(), null, 'not saved before the interval');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual((await file.load())!.images[0].done, [[1, 2]], 'saved once the interval passed, with no further write');
    await rec.idle();
  });

  it('a failed save stops checkpointing with one warning, and the install goes on', async () => {
    const warnings: string[] = [];
    const file = new CheckpointFile(path.join(dir.dir, 'missing', 'folder'));
    const rec = new CheckpointRecorder(file, { manifestSha256: 'ef'.repeat(32), slot: 'B', version: '1.1.0' }, [{ entry: entry(4), handle: fakeHandle([]) }], 0, (m) => warnings.push(m));
    const wrapped = rec.wrap(0);
    for (let i = 0; i < 4; i++) await wrapped.verifyAndWrite(Buffer.alloc(CHUNK), i * CHUNK, 0, Buffer.alloc(32));
    await rec.idle();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /resume checkpoint not saved/);
  });
});

function entry(chunks: number): ImageEntry {
  return { name: 'rootfs', chunkSize: CHUNK, size: chunks * CHUNK, chunkCrc32: new Array(chunks).fill(0), chunkSha256: new Array(chunks).fill(Buffer.alloc(32)) } as unknown as ImageEntry;
}

function fakeHandle(calls: string[]): SlotHandle {
  return {
    target: { slot: 'B', slotClass: 'rootfs', device: '/dev/fake', offset: 0, size: 1 << 20 },
    direct: true,
    verifyAndWrite: async (_b: Buffer, offset: number) => void calls.push(`write ${offset / CHUNK}`),
    write: async () => undefined,
    read: async () => 0,
    readVerify: async () => ({ bytes: 0, crc32: 0, sha256Match: false }),
    datasync: async () => void calls.push('datasync'),
    dropCache: async () => undefined,
    close: async () => undefined,
  };
}
