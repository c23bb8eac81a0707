// What keeps the daemon's memory flat while a bundle streams in: bounded read-ahead, one copy per piece, GCs paced by bytes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from '../../../engine/facade';
import { HttpUrlSource } from '../../../engine/sources/http-url-source';
import { UploadSource } from '../../../engine/sources/upload-source';
import { OperationRunner, cancellable } from '../../../engine/transports/http/operation-runner';
import { SCAVENGE_BYTES } from '../../../engine/transports/http/scavenger';
import { minorGcsDuring } from '../../unit/transports/http/scavenger.test';
import { startFaultServer, type FaultServer } from './fault-server';

const PIECE = 64 * 1024;
const DATA = randomBytes(16 * 1024 * 1024);

/** Reads as the bundle reader does (paused mode, read() with no size), returning the size of each read and the bytes. */
async function readLikeTheBundleReader(stream: Readable): Promise<{ sizes: number[]; bytes: Buffer }> {
  const sizes: number[] = [];
  const parts: Buffer[] = [];
  for (;;) {
    const piece = stream.read() as Buffer | null;
    if (piece !== null) {
      sizes.push(piece.length);
      parts.push(piece);
      continue;
    }
    if (stream.readableEnded) return { sizes, bytes: Buffer.concat(parts) };
    await new Promise<void>((resolve) => {
      const done = (): void => void (stream.off('readable', done).off('end', done), resolve());
      stream.on('readable', done).on('end', done);
    });
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !cond(); i++) await sleep(50);
  assert.ok(cond(), 'condition not reached in 30 s');
}

describe('network sources: bounded read-ahead, pieces passed on whole, GCs paced by bytes', function () {
  this.timeout(60_000);
  let server: FaultServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  // A stalled reader (the disk) must stop the download after a few MiB, and the bundle reader's read() must then
  // get one socket read at a time: in byte mode it got all that was buffered concatenated into one new buffer.
  it('a URL download: a reader that lags holds a few MiB, then takes them one socket read at a time', async () => {
    server = await startFaultServer(DATA, { kind: 'ok' });
    let received = 0;
    const stream = await new HttpUrlSource(server.url(), { maxBytes: 64 << 20 }).open(undefined, { onReceived: (n) => (received += n) });
    stream.on('readable', () => undefined); // a waiting reader: the download starts, nothing is taken
    await until(() => received >= 128 * 1024);
    await sleep(1000); // room for an unbounded download to run on
    assert.ok(received <= 4 * 1024 * 1024, `${received} bytes received while nothing was read`);
    const { sizes, bytes } = await readLikeTheBundleReader(stream);
    assert.ok(bytes.equals(DATA));
    assert.ok(Math.max(...sizes) <= PIECE, `a read returned ${Math.max(...sizes)} bytes at once`);
  });

  it('an upload: pieces written ahead of the reader come out one at a time', async () => {
    const body = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
    const out = await new UploadSource(body, { description: 'test upload', maxBytes: 64 << 20 }).open();
    for (let i = 0; i < 32; i++) body.write(DATA.subarray(i * PIECE, (i + 1) * PIECE));
    body.end();
    await sleep(100); // let the pieces move into the source's read-ahead before the first read
    const { sizes, bytes } = await readLikeTheBundleReader(out);
    assert.ok(bytes.equals(DATA.subarray(0, 32 * PIECE)));
    assert.ok(Math.max(...sizes) <= PIECE, `a read returned ${Math.max(...sizes)} bytes at once`);
  });

  // The whole daemon path (runner -> cancellable -> source): each SCAVENGE_BYTES downloaded brings one minor GC.
  // The engine is not used by run() itself: a stand-in keeps the test to the transport.
  it('an operation downloading a URL collects the young generation once per SCAVENGE_BYTES received', async () => {
    server = await startFaultServer(DATA, { kind: 'ok' });
    const runner = new OperationRunner({} as Engine);
    let total = 0;
    const gcs = await minorGcsDuring(async () => {
      await runner.run('test download', async (signal) => {
        const source = cancellable(new HttpUrlSource(server!.url(), { maxBytes: 64 << 20 }), signal);
        total = (await readLikeTheBundleReader(await source.open())).bytes.length;
      });
    });
    assert.equal(total, DATA.length);
    const paced = Math.floor(DATA.length / SCAVENGE_BYTES);
    assert.ok(gcs >= paced, `${gcs} minor GCs for ${DATA.length} bytes (${paced} expected at least)`);
  });
});
