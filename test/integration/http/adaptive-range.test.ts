// Adaptive installs over real HTTP: only the missing chunks are downloaded (coalesced Range requests); a server
// that ignores Range still works, reading the whole bundle.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import type { LogEvent } from '../../../engine/core/progress';
import { HttpUrlSource } from '../../../engine/sources/http-url-source';
import { CHUNK, factoryImage, firstImageLayout, simBundle, withChangedChunks, withCompressibleChanges } from '../../helpers/adaptive-fixtures';
import { startRangeServer, type RangeServer } from '../../helpers/range-server';
import { simFixture, slotBytes, slotHash, type SimFixture } from '../../helpers/sim-fixture';

describe('adaptive install over HTTP', function () {
  this.timeout(120_000);
  let f: SimFixture;
  let server: RangeServer | undefined;
  beforeEach(async () => {
    f = await simFixture();
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await f?.cleanup();
  });

  const source = (url: string) => new HttpUrlSource(url, { maxBytes: 64 * 1024 * 1024 });

  it('downloads the head and the changed chunks only, adjacent ones in one Range request', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [5, 6, 7, 30]);
    const bundle = await simBundle(f.sim, image);
    const size = (await fs.stat(bundle)).size;
    const headSize = size - image.length;
    server = await startRangeServer(bundle);
    const aBefore = await slotHash(f.sim, 'A');
    const result = await f.engine.install(source(server.url), { activate: false });
    assert.deepEqual(result.transfer, { fetched: 4 * CHUNK, copied: image.length - 4 * CHUNK, skipped: 0 });
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image));
    assert.equal(await slotHash(f.sim, 'A'), aBefore, 'the booted slot is never written');
    // The head request asks for at most the longest possible head; the server sends what the file has of it.
    const ranges = server.requests.slice(1);
    assert.deepEqual(ranges, [`bytes=${headSize + 5 * CHUNK}-${headSize + 8 * CHUNK - 1}`, `bytes=${headSize + 30 * CHUNK}-${headSize + 31 * CHUNK - 1}`]);
    assert.match(server.requests[0] ?? '', /^bytes=0-\d+$/);
    assert.ok(server.bytesSent <= Math.min(size, 1_200_000) + 4 * CHUNK, `sent ${server.bytesSent} of ${size}`);
  });

  it('works with a server that ignores Range (answers 200): the whole bundle is read, unneeded chunks discarded', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [2]);
    const bundle = await simBundle(f.sim, image);
    server = await startRangeServer(bundle, { ignoreRange: true });
    const logs: LogEvent[] = [];
    f.engine.subscribe({ progress: () => undefined, log: (e) => logs.push(e) });
    const result = await f.engine.install(source(server.url), { activate: false });
    assert.deepEqual(result.transfer, { fetched: CHUNK, copied: image.length - CHUNK, skipped: 0 });
    assert.equal(server.requests.length, 1);
    assert.equal(server.bytesSent, (await fs.stat(bundle)).size);
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image));
    assert.equal((await f.engine.status()).slots.find((s) => s.name === 'B')!.image, 'verified');
    assert.ok(logs.some((l) => /chunks already in slot B, \d+ copied from slot A, 1 to fetch/.test(l.message)));
  });

  it('a repeated install over HTTP downloads nothing but the head', async () => {
    const image = withChangedChunks(await factoryImage(f.sim), [9]);
    const bundle = await simBundle(f.sim, image);
    server = await startRangeServer(bundle);
    await f.engine.install(source(server.url), { activate: false });
    const before = server.requests.length;
    const again = await f.engine.install(source(server.url), { activate: false });
    assert.deepEqual(again.transfer, { fetched: 0, copied: 0, skipped: image.length });
    assert.equal(server.requests.length, before + 1, 'only the head was asked for');
  });

  it('on a zstd bundle asks for the stored extents of the changed chunks only, and decompresses them', async () => {
    const changed = [5, 6, 7, 30];
    const image = withCompressibleChanges(await factoryImage(f.sim), changed);
    const bundle = await simBundle(f.sim, image, { zstdLevel: 3 });
    const { entry, extents } = await firstImageLayout(bundle);
    assert.equal(entry.compression, 'zstd');
    server = await startRangeServer(bundle);
    const result = await f.engine.install(source(server.url), { activate: false });
    assert.deepEqual(result.transfer, { fetched: 4 * CHUNK, copied: image.length - 4 * CHUNK, skipped: 0 }, 'counted in image bytes');
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image), 'B holds the new image byte for byte');
    assert.equal((await f.engine.status()).slots.find((s) => s.name === 'B')!.image, 'verified');
    const span = (a: number, b: number) => `bytes=${extents[a].offset}-${extents[b].offset + extents[b].length - 1}`;
    assert.deepEqual(server.requests.slice(1), [span(5, 7), span(30, 30)], 'one Range per run of adjacent stored chunks');
    const stored = changed.reduce((n, i) => n + extents[i].length, 0);
    assert.ok(stored < CHUNK, `the changed chunks compress (${stored} stored bytes for ${4 * CHUNK})`);
    assert.equal(server.sentPerRequest.slice(1).reduce((a, b) => a + b, 0), stored, 'after the head, exactly their stored bytes were sent');
  });
});
