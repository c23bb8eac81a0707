// Adaptive installs of zstd bundles read from a file: unneeded chunks are passed by their stored (compressed) length.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { isAbuError } from '../../../engine/core/errors';
import { FileSource } from '../../../engine/sources/file-source';
import { CHUNK, factoryImage, firstImageLayout, simBundle, withCompressibleChanges } from '../../helpers/adaptive-fixtures';
import { bufferSource, simFixture, slotBytes, slotHash, type SimFixture } from '../../helpers/sim-fixture';

describe('adaptive install of a zstd bundle', function () {
  this.timeout(120_000);
  let f: SimFixture;
  beforeEach(async () => {
    f = await simFixture();
  });
  afterEach(async () => f?.cleanup());

  const slotB = async () => (await f.engine.status()).slots.find((s) => s.name === 'B')!;

  it('from a file: seeks past the stored bytes of chunks it copies, decompresses the changed ones, then keeps them all', async () => {
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

  it('from a stream: a damaged stored chunk it must fetch is refused (transport CRC32), B left unverified', async () => {
    const image = withCompressibleChanges(await factoryImage(f.sim), [9]);
    const bundle = await simBundle(f.sim, image, { zstdLevel: 3 });
    const extent = (await firstImageLayout(bundle)).extents[9];
    const bytes = await fs.readFile(bundle);
    bytes[extent.offset + Math.floor(extent.length / 2)] ^= 0x10;
    await assert.rejects(f.engine.install(bufferSource(bytes), { activate: false }), (e) => isAbuError(e, 'ABU_ERR_CHUNK_CRC'));
    assert.equal((await slotB()).image, 'incomplete');
  });
});
