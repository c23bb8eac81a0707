// Sources that error or stall mid-stream, slow sources, and backpressure (bounded read-ahead).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { AbuError } from '../../../engine/core/errors';
import { loadKeyring, openBundle, type Keyring } from '../../../engine/bundle/bundle-reader';
import { makeBundle, makeKey, tempDir, writeKeyring, type FixtureBundle } from '../../helpers/bundle-fixtures';
import { expectCode, readBundle } from './read-bundle';

/** Serves `bytes` up to `stopAt`, then errors, stalls forever, or trickles with `gapMs` pauses. */
function faultyStream(bytes: Buffer, stopAt: number, fault: 'error' | 'stall' | 'none', gapMs = 0, error: Error = new Error('connection reset by peer')): Readable & { served: () => number } {
  let at = 0;
  const stream = new Readable({
    highWaterMark: 16 * 1024,
    read() {
      if (at >= stopAt) {
        if (fault === 'error') this.destroy(error);
        if (fault === 'none') this.push(null);
        return; // 'stall': never push again
      }
      const piece = bytes.subarray(at, Math.min(stopAt, at + 8192));
      at += piece.length;
      if (gapMs > 0) setTimeout(() => this.push(piece), gapMs);
      else this.push(piece);
    },
  });
  return Object.assign(stream, { served: () => at });
}

describe('bundle sources that fail', function () {
  this.timeout(20_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let made: FixtureBundle;
  let bytes: Buffer;
  let keyring: Keyring;

  before(async () => {
    tmp = await tempDir();
    const key = makeKey();
    made = await makeBundle(tmp.dir, { images: [{ name: 'rootfs', size: 300 * 1024 }, { name: 'data', size: 5000 }], keys: [key] });
    bytes = await readFile(made.path);
    keyring = await loadKeyring(await writeKeyring(tmp.dir, [key]));
  });
  after(async () => tmp.cleanup());

  const stops = (): number[] => [0, 10, 32, 200, 4096, 4096 + 70_000, bytes.length - 4000, bytes.length - 1];

  it('wraps a stream error at any offset as ABU_ERR_SOURCE with the cause', async () => {
    for (const stop of stops()) {
      const e = await expectCode(readBundle(faultyStream(bytes, stop, 'error'), keyring), 'ABU_ERR_SOURCE', `error at ${stop}`);
      assert.match(e.message, /connection reset by peer/);
      assert.equal((e.cause as Error).message, 'connection reset by peer');
    }
  });

  it('keeps the code of a coded stream error (a cancel stays ABU_ERR_CANCELLED) and says where it stopped', async () => {
    for (const stop of stops()) {
      const reason = new AbuError('ABU_ERR_CANCELLED', 'cancelled by the operator', { details: { by: 'test' } });
      const e = await expectCode(readBundle(faultyStream(bytes, stop, 'error', 0, reason), keyring), 'ABU_ERR_CANCELLED', `cancel at ${stop}`);
      assert.equal(e.cause, reason);
      assert.match(e.message, /^cancelled by the operator \(at bundle offset \d+, reading the /);
      assert.equal(e.details.by, 'test');
    }
  });

  it('gives up on a stalled source after idleTimeoutMs with ABU_ERR_SOURCE', async () => {
    for (const stop of stops()) {
      const started = Date.now();
      const e = await expectCode(readBundle(faultyStream(bytes, stop, 'stall'), keyring, { idleTimeoutMs: 60 }), 'ABU_ERR_SOURCE', `stall at ${stop}`);
      assert.match(e.message, /stalled/);
      assert.ok(Date.now() - started < 2000);
    }
  });

  it('does not time out a slow source whose gaps are shorter than the idle timeout', async () => {
    // ~40 pieces 25 ms apart: the whole read takes longer than the timeout, each gap does not.
    const got = await readBundle(faultyStream(bytes, bytes.length, 'none', 25), keyring, { idleTimeoutMs: 400 });
    assert.deepEqual(got.images, made.images);
  });

  it('pulls only what the consumer asks for (backpressure, bounded read-ahead)', async () => {
    const stream = faultyStream(bytes, bytes.length, 'none');
    const bundle = await openBundle(stream, keyring);
    for await (const { chunks } of bundle.images()) {
      for await (const chunk of chunks) {
        await new Promise((r) => setTimeout(r, 5)); // a slow disk
        const consumed = 4096 + chunk.image.offset + chunk.offset + chunk.data.length;
        assert.ok(stream.served() - consumed <= 64 * 1024, `read ahead ${stream.served() - consumed} bytes`);
      }
    }
    await bundle.finish();
    bundle.close();
  });

  it('close() releases the source early without throwing', async () => {
    const stream = faultyStream(bytes, bytes.length, 'stall');
    const bundle = await openBundle(stream, keyring);
    bundle.close();
    bundle.close();
    assert.ok(stream.destroyed);
  });
});
