// Adaptive installs on the simulated appliance: copy from the booted slot, skip what the target holds, fetch the rest
// (zstd bundles too: unneeded chunks are passed by their stored length).
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { crc32 } from 'node:zlib';
import * as path from 'node:path';
import { isAbuError } from '../../../engine/core/errors';
import { CheckpointFile } from '../../../engine/install/checkpoint';
import type { ProgressEvent } from '../../../engine/core/progress';
import type { InstallResult } from '../../../engine/facade';
import type { SlotHandle, SlotStore, SlotTarget } from '../../../engine/slots/slot-store';
import { FileSource } from '../../../engine/sources/file-source';
import { CHUNK, crcTwin, factoryImage, firstImageLayout, simBundle, withChangedChunks, withCompressibleChanges, writeSlot } from '../../helpers/adaptive-fixtures';
import { imageBytes } from '../../helpers/bundle-fixtures';
import { FaultySlotStore } from '../../helpers/faulty-slot-store';
import { bufferSource, simFixture, slotBytes, slotHash, type SimFixture } from '../../helpers/sim-fixture';

describe('adaptive install on the simulated appliance', function () {
  this.timeout(120_000);
  let f: SimFixture;
  beforeEach(async () => {
    f = await simFixture();
  });
  afterEach(async () => f?.cleanup());

  const slotB = async () => (await f.engine.status()).slots.find((s) => s.name === 'B')!;

  it('copies unchanged chunks from the booted slot, reads only the changed ones, and reports it everywhere', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [5, 20, 21]);
    const bundle = await simBundle(f.sim, image);
    const aBefore = await slotHash(f.sim, 'A');
    const events: ProgressEvent[] = [];
    f.engine.subscribe({ progress: (e) => events.push(e), log: () => undefined });
    const result = await f.engine.install(new FileSource(bundle), { activate: false });
    const total = image.length;
    assert.deepEqual(result.transfer, { fetched: 3 * CHUNK, copied: total - 3 * CHUNK, skipped: 0 });
    assert.ok((await slotBytes(f.sim, 'B', total)).equals(image), 'B holds the new image byte for byte');
    assert.equal(await slotHash(f.sim, 'A'), aBefore, 'the booted slot is never written');
    assert.equal((await slotB()).image, 'verified');
    assert.ok(events.some((e) => e.phase === 'indexing'), 'an indexing phase is reported');
    assert.deepEqual(events.filter((e) => e.transfer).at(-1)!.transfer, result.transfer);
    const [last] = await f.engine.history(1);
    assert.deepEqual(last.transfer, result.transfer);
    assert.match(last.message, /196608 fetched, \d+ copied from slot A, 0 already in place/);
  });

  it('writes nothing again when the target already holds the image (a repeated install)', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [1]);
    const bundle = await simBundle(f.sim, image);
    await f.engine.install(new FileSource(bundle), { activate: false });
    const again = await f.engine.install(new FileSource(bundle), { activate: false });
    assert.deepEqual(again.transfer, { fetched: 0, copied: 0, skipped: image.length });
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image));
    assert.equal((await slotB()).image, 'verified');
  });

  it('fetches a chunk whose local bytes match its CRC32 but not its signed SHA-256, never writing those bytes', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [10]);
    const wanted = image.subarray(10 * CHUNK, 11 * CHUNK);
    const twin = crcTwin(wanted);
    assert.equal(crc32(twin), crc32(wanted));
    await writeSlot(f.sim, 'A', 10 * CHUNK, twin); // the running image holds a look-alike of chunk 10
    const bundle = await simBundle(f.sim, image);
    const result = await f.engine.install(new FileSource(bundle), { activate: false });
    assert.equal(result.transfer!.fetched, CHUNK, 'the look-alike was refused and chunk 10 fetched');
    assert.equal(result.transfer!.copied, image.length - CHUNK);
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image));
  });

  it('rewrites a target chunk that matches the CRC32 but not the SHA-256 of the chunk it should hold', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [4]);
    const bundle = await simBundle(f.sim, image);
    await f.engine.install(new FileSource(bundle), { activate: false });
    await writeSlot(f.sim, 'B', 30 * CHUNK, crcTwin(image.subarray(30 * CHUNK, 31 * CHUNK)));
    const again = await f.engine.install(new FileSource(bundle), { activate: false });
    assert.equal(again.transfer!.skipped, image.length - CHUNK, 'every chunk but the look-alike is kept');
    assert.equal(again.transfer!.copied, CHUNK, 'chunk 30 is copied again from A');
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image));
  });

  it('resumes an interrupted install: chunks written and verified before the cut are not written again', async () => {
    const image = imageBytes(3 * 1024 * 1024, 'nothing in common with A');
    const bundle = await simBundle(f.sim, image);
    const bytes = await fs.readFile(bundle);
    const cut = Math.floor(bytes.length * 0.8);
    await assert.rejects(f.engine.install(bufferSource(bytes, { failAt: cut, mode: 'error' }), { activate: false }), (e) => isAbuError(e, 'ABU_ERR_SOURCE'));
    const b = await slotB();
    assert.equal(b.image, 'incomplete', 'B stays recorded as incomplete until every chunk verified');
    assert.equal(b.state, 'bad', 'and unbootable');
    const resumed = await f.engine.install(new FileSource(bundle), { activate: false });
    const t = resumed.transfer!;
    assert.equal(t.copied, 0);
    assert.equal(t.fetched + t.skipped, image.length);
    assert.ok(t.skipped >= image.length * 0.6, `the resumed install kept what was written (skipped ${t.skipped} of ${image.length})`);
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image));
    assert.equal((await slotB()).image, 'verified');
  });

  it('with adaptive off, streams and writes every chunk', async () => {
    const bundle = await simBundle(f.sim, withChangedChunks(await factoryImage(f.sim), [3]));
    const result = await f.engine.install(new FileSource(bundle), { activate: false, adaptive: false });
    assert.equal(result.transfer, undefined);
    assert.equal((await slotB()).image, 'verified');
  });

  it('reads back the chunks it wrote: a write the medium lost fails the install with ABU_ERR_READBACK', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [12]);
    const bundle = await simBundle(f.sim, image);
    await writeSlot(f.sim, 'B', 0, Buffer.alloc(image.length, 0x5a)); // B holds nothing of the image
    // Chunk 33 (copied from A) never lands.
    await assert.rejects(withSlots(f, (real) => new FaultySlotStore(real, 33 * CHUNK, 'lose'), new FileSource(bundle)), (e) => isAbuError(e, 'ABU_ERR_READBACK') && /chunk 33/.test(e.message));
    assert.equal((await slotB()).image, 'incomplete');
    assert.equal(await new CheckpointFile(path.join(f.sim.dir, 'state')).load(), null, 'a medium that lost a write leaves no resume checkpoint');
  });

  it('reads back only the chunks it wrote when the target is open with O_DIRECT: kept chunks are not read again', async () => {
    const before = withChangedChunks(await factoryImage(f.sim), [2]);
    await f.engine.install(new FileSource(await simBundle(f.sim, before)), { activate: false });
    const image = withChangedChunks(before, [5, 30]);
    const tap = new WriteTap();
    const events: ProgressEvent[] = [];
    const logs: string[] = [];
    f.engine.subscribe({ progress: (e) => events.push(e), log: (l) => logs.push(l.message) });
    const result = await withSlots(f, (real) => tap.store(real), new FileSource(await simBundle(f.sim, image)));
    assert.equal(tap.direct, true, 'the simulated slot is open with O_DIRECT (else this test proves nothing)');
    assert.deepEqual((result as InstallResult).transfer, { fetched: 2 * CHUNK, copied: 0, skipped: image.length - 2 * CHUNK });
    assert.equal(tap.bytesReadAfterSync, 2 * CHUNK, 'only the two fetched chunks are read back');
    const readback = events.filter((e) => e.phase === 'readback');
    assert.deepEqual([readback.at(-1)!.bytesDone, readback.at(-1)!.bytesTotal], [2 * CHUNK, 2 * CHUNK], 'the meter counts the bytes read back');
    assert.ok(logs.includes('image "rootfs": read back 2 of 48 chunks by CRC32; 46 kept chunks verified in place by SHA-256'), logs.join('\n'));
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image));
    assert.equal((await slotB()).image, 'verified');
  });

  // Chunk 7 is copied in place from A (B held another chunk 7), chunk 12 is fetched; every other chunk is kept.
  for (const [lost, how] of [[7, 'copied from the booted slot'], [12, 'fetched']] as const) {
    it(`still reads back a chunk it ${how}: a write the medium lost among kept chunks fails with ABU_ERR_READBACK, nothing activated`, async () => {
      const factory = await factoryImage(f.sim);
      const before = withChangedChunks(factory, [2, 7]);
      await f.engine.install(new FileSource(await simBundle(f.sim, before)), { activate: false });
      const image = withChangedChunks(before, [12]);
      factory.copy(image, 7 * CHUNK, 7 * CHUNK, 8 * CHUNK);
      const bundle = new FileSource(await simBundle(f.sim, image));
      await assert.rejects(withSlots(f, (real) => new FaultySlotStore(real, lost * CHUNK, 'lose'), bundle, { activate: true }), (e) => isAbuError(e, 'ABU_ERR_READBACK') && new RegExp(`chunk ${lost} `).test(e.message));
      const s = await f.engine.status();
      assert.equal((await slotB()).image, 'incomplete');
      assert.equal((await slotB()).state, 'bad', 'B is not bootable');
      assert.equal(s.pending, null, 'nothing was activated');
    });
  }

  it('reads back every chunk, kept ones too, when the target fell back to buffered I/O (the scan may have read the page cache)', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [2]);
    const bundle = await simBundle(f.sim, image);
    await f.engine.install(new FileSource(bundle), { activate: false });
    // Staged: the handle says O_DIRECT was refused, and a kept chunk really changes on disk between abu's sync and its read-back.
    const tap = new WriteTap({ buffered: true, afterSync: () => writeSlot(f.sim, 'B', 40 * CHUNK, Buffer.from('changed behind abu')) });
    const logs: string[] = [];
    f.engine.subscribe({ progress: () => undefined, log: (l) => logs.push(l.message) });
    await assert.rejects(withSlots(f, (real) => tap.store(real), new FileSource(bundle)), (e) => isAbuError(e, 'ABU_ERR_READBACK') && /chunk 40/.test(e.message));
    assert.equal(tap.bytesReadAfterSync, image.length, 'the whole image was read back');
    assert.equal((await slotB()).image, 'incomplete');
    const tap2 = new WriteTap({ buffered: true });
    await withSlots(f, (real) => tap2.store(real), new FileSource(bundle));
    assert.equal(tap2.bytesReadAfterSync, image.length, 'chunk 40 copied again, and still every chunk was read back');
    assert.ok(logs.some((m) => /read back all 48 chunks by CRC32 \(slot B is not open with O_DIRECT/.test(m)), logs.join('\n'));
  });

  it('refuses a bundle file cut short inside chunks it skips (a seek past them still checks they exist)', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [2]);
    const bundle = await simBundle(f.sim, image);
    await fs.truncate(bundle, (await fs.stat(bundle)).size - 100);
    await assert.rejects(f.engine.install(new FileSource(bundle), { activate: false }), (e) => isAbuError(e, 'ABU_ERR_BUNDLE_TRUNCATED'));
    assert.equal((await slotB()).image, 'incomplete');
  });

  it('refuses a corrupted chunk it has to fetch, and leaves B unverified', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [7]);
    const bytes = await fs.readFile(await simBundle(f.sim, image));
    const payload = bytes.length - image.length;
    bytes[payload + 7 * CHUNK + 100] ^= 1;
    await assert.rejects(f.engine.install(bufferSource(bytes), { activate: false }), (e) => isAbuError(e, 'ABU_ERR_CHUNK_CRC'));
    assert.equal((await slotB()).image, 'incomplete');
  });

  it('zstd bundle from a file: seeks past the stored bytes of chunks it copies, decompresses the changed ones, then keeps them all', async () => {
    const image = withCompressibleChanges(await factoryImage(f.sim), [3, 40, 41]);
    const bundle = await simBundle(f.sim, image, { zstdLevel: 3 });
    assert.equal((await firstImageLayout(bundle)).entry.compression, 'zstd');
    const aBefore = await slotHash(f.sim, 'A');
    const result = await f.engine.install(new FileSource(bundle), { activate: false });
    assert.deepEqual(result.transfer, { fetched: 3 * CHUNK, copied: image.length - 3 * CHUNK, skipped: 0 });
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image), 'B holds the new image byte for byte');
    assert.equal(await slotHash(f.sim, 'A'), aBefore, 'the booted slot is never written');
    assert.equal((await slotB()).image, 'verified');
    const again = await f.engine.install(new FileSource(bundle), { activate: false });
    assert.deepEqual(again.transfer, { fetched: 0, copied: 0, skipped: image.length }, 'a repeated install keeps every chunk');
    assert.equal((await slotB()).image, 'verified');
  });

  it('zstd bundle from a stream: a damaged stored chunk it must fetch is refused (transport CRC32), B left unverified', async () => {
    const image = withCompressibleChanges(await factoryImage(f.sim), [9]);
    const bundle = await simBundle(f.sim, image, { zstdLevel: 3 });
    const extent = (await firstImageLayout(bundle)).extents[9];
    const bytes = await fs.readFile(bundle);
    bytes[extent.offset + Math.floor(extent.length / 2)] ^= 0x10;
    await assert.rejects(f.engine.install(bufferSource(bytes), { activate: false }), (e) => isAbuError(e, 'ABU_ERR_CHUNK_CRC'));
    assert.equal((await slotB()).image, 'incomplete');
  });
});

/** Installs (not activating by default) through a slot store wrapped around the real one, which is put back afterwards. */
async function withSlots(f: SimFixture, wrap: (real: SlotStore) => SlotStore, source: FileSource, o: { activate: boolean } = { activate: false }): Promise<unknown> {
  const real = f.engine.parts.slots;
  f.engine.parts.slots = wrap(real);
  try {
    return await f.engine.install(source, o);
  } finally {
    f.engine.parts.slots = real;
  }
}

/**
 * Wraps the real store's write handles to count the bytes read after the sync (the read-back) and, when asked, to
 * stage what this machine cannot make happen for real: a filesystem refusing O_DIRECT (the handle reports the
 * buffered fallback; its I/O stays the real one) and another writer striking between the sync and the read-back.
 */
class WriteTap {
  direct: boolean | undefined;
  bytesReadAfterSync = 0;

  constructor(private readonly o: { buffered?: boolean; afterSync?: () => Promise<void> } = {}) {}

  store(real: SlotStore): SlotStore {
    return Object.assign(Object.create(real) as SlotStore, { openForWrite: async (target: SlotTarget, booted: string) => this.handle(await real.openForWrite(target, booted as 'A' | 'B')) });
  }

  private handle(real: SlotHandle): SlotHandle {
    let synced = false;
    this.direct = real.direct;
    const tap = Object.create(real) as SlotHandle;
    if (this.o.buffered) Object.defineProperty(tap, 'direct', { value: false });
    return Object.assign(tap, {
      datasync: async () => {
        await real.datasync();
        await this.o.afterSync?.();
        synced = true;
      },
      read: async (buf: Buffer, offset: number) => {
        const n = await real.read(buf, offset);
        if (synced) this.bytesReadAfterSync += n;
        return n;
      },
    });
  }
}
