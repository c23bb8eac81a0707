// HttpUrlSource against a local fault-injecting server: streaming, Range resume, bounded retries, clear errors.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { AbuError, isAbuError } from '../../../engine/core/errors';
import { HttpUrlSource } from '../../../engine/sources/http-url-source';
import type { ImageSource } from '../../../engine/sources/image-source';
import { cancellable } from '../../../engine/transports/http/operation-runner';
import { startFaultServer, type Fault, type FaultServer } from './fault-server';

const DATA = randomBytes(3 * 1024 * 1024 + 123);

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('HttpUrlSource', function () {
  let server: FaultServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  async function download(fault: Fault, o: { retries?: number; maxBytes?: number } = {}): Promise<Buffer> {
    server = await startFaultServer(DATA, fault);
    const source = new HttpUrlSource(server.url(), { maxBytes: o.maxBytes ?? 64 * 1024 * 1024, retries: o.retries ?? 3, retryDelayMs: 10 });
    return readAll(await source.open());
  }

  it('streams the whole file and learns its size', async () => {
    server = await startFaultServer(DATA, { kind: 'ok' });
    const source = new HttpUrlSource(server.url(), { maxBytes: 64 << 20 });
    const got = await readAll(await source.open());
    assert.ok(got.equals(DATA));
    assert.equal(source.sizeHint, DATA.length);
  });

  it('resumes with Range after a dropped connection and delivers identical bytes', async () => {
    const got = await download({ kind: 'drop', afterBytes: 1_000_000, times: 2 });
    assert.ok(got.equals(DATA));
    assert.deepEqual(server!.requests.map((r) => r.range), [undefined, 'bytes=1000000-', 'bytes=2000000-']);
  });

  it('gives up after the bounded number of retries', async () => {
    await assert.rejects(download({ kind: 'drop', afterBytes: 100_000 }, { retries: 2 }), (e: any) => e.code === 'ABU_ERR_HTTP_SOURCE' && /gave up/.test(e.message));
    assert.equal(server!.requests.length, 3);
  });

  const failures: { name: string; fault: Fault; code: string; status?: number; requests?: number }[] = [
    { name: '404', fault: { kind: 'status', status: 404 }, code: 'ABU_ERR_HTTP_SOURCE', status: 404, requests: 1 },
    { name: '403', fault: { kind: 'status', status: 403 }, code: 'ABU_ERR_HTTP_SOURCE', status: 403, requests: 1 },
    { name: 'a 500 that persists', fault: { kind: 'status', status: 500 }, code: 'ABU_ERR_HTTP_SOURCE', status: 500, requests: 4 },
    { name: 'more bytes than announced', fault: { kind: 'extra-bytes', extra: 4096 }, code: 'ABU_ERR_HTTP_SOURCE' },
    { name: 'a server that ignores Range after a drop', fault: { kind: 'no-range', dropAfterBytes: 500_000 }, code: 'ABU_ERR_HTTP_SOURCE' },
  ];
  for (const c of failures) {
    it(`fails clearly on ${c.name}`, async () => {
      await assert.rejects(download(c.fault), (e: any) => {
        assert.equal(e.code, c.code, e.message);
        if (c.status) assert.equal(e.details.status, c.status);
        return true;
      });
      if (c.requests) assert.equal(server!.requests.length, c.requests);
    });
  }

  it('retries a 503 and then succeeds', async () => {
    const got = await download({ kind: 'status', status: 503, times: 1 });
    assert.ok(got.equals(DATA));
  });

  it('refuses a download larger than the slot', async () => {
    await assert.rejects(download({ kind: 'ok' }, { maxBytes: 1024 * 1024 }), (e: any) => e.code === 'ABU_ERR_IMAGE_TOO_LARGE');
  });

  it('refuses URLs that are not http or https', () => {
    for (const url of ['file:///etc/passwd', 'ftp://x/y', 'not a url', '/relative/path']) {
      assert.throws(() => new HttpUrlSource(url, { maxBytes: 1 }), (e: any) => e.code === 'ABU_ERR_USAGE', url);
    }
  });

  // Cancel must end every wait at once, whatever the source is doing. Retry delay and idle timeout are a
  // minute, so an answer within SOON can only come from the cancel; the states are reached by waiting for
  // what the server saw, never by sleeping.
  describe('stops at once when its signal aborts', function () {
    this.timeout(20_000);
    const SOON = 5000;
    const slow = { maxBytes: 64 << 20, retries: 3, retryDelayMs: 60_000, idleTimeoutMs: 60_000 };
    const cancelled = () => new AbuError('ABU_ERR_CANCELLED', 'cancelled by the test');

    async function expectCancelled(p: Promise<unknown>, since: number): Promise<void> {
      await assert.rejects(p, (e) => isAbuError(e, 'ABU_ERR_CANCELLED'));
      assert.ok(Date.now() - since < SOON, `took ${Date.now() - since} ms`);
    }

    it('before open: rejects with the reason and sends no request', async () => {
      server = await startFaultServer(DATA, { kind: 'ok' });
      const ctl = new AbortController();
      ctl.abort(cancelled());
      await expectCancelled(new HttpUrlSource(server.url(), slow).open(ctl.signal), Date.now());
      assert.equal(server.requests.length, 0);
    });

    it('while waiting for an answer that never comes', async () => {
      server = await startFaultServer(DATA, { kind: 'silent' });
      const ctl = new AbortController();
      const opening = new HttpUrlSource(server.url(), slow).open(ctl.signal);
      await until(() => server!.requests.length === 1);
      const at = Date.now();
      ctl.abort(cancelled());
      await expectCancelled(opening, at);
    });

    it('in the pause between attempts, without trying again', async () => {
      server = await startFaultServer(DATA, { kind: 'status', status: 503 });
      const ctl = new AbortController();
      const opening = new HttpUrlSource(server.url(), slow).open(ctl.signal);
      await until(() => server!.requests.length === 1);
      const at = Date.now();
      ctl.abort(cancelled());
      await expectCancelled(opening, at);
      assert.equal(server.requests.length, 1);
    });

    it('mid-stream, from a server gone silent: the stream errors with the reason', async () => {
      server = await startFaultServer(DATA, { kind: 'stall', afterBytes: 256 * 1024 });
      const ctl = new AbortController();
      const stream = await new HttpUrlSource(server.url(), slow).open(ctl.signal);
      let got = 0;
      const reading = (async () => { for await (const c of stream) got += (c as Buffer).length; })();
      await until(() => got > 0);
      const at = Date.now();
      ctl.abort(cancelled());
      await expectCancelled(reading, at);
    });

    it('mid-stream, when the consumer destroys the stream: it closes at once, not at the idle timeout', async () => {
      server = await startFaultServer(DATA, { kind: 'stall', afterBytes: 256 * 1024 });
      let received = 0;
      const stream = await new HttpUrlSource(server.url(), slow).open(undefined, { onReceived: (n) => (received += n) });
      // Everything the server sends is buffered (nothing is read), then the download waits on the silent socket.
      stream.on('readable', () => undefined);
      await until(() => received === 256 * 1024);
      await new Promise((r) => setImmediate(r));
      const at = Date.now();
      const error = new Promise<Error>((r) => stream.once('error', r));
      stream.destroy(cancelled());
      assert.ok(isAbuError(await error, 'ABU_ERR_CANCELLED'));
      assert.ok(Date.now() - at < SOON, `took ${Date.now() - at} ms`);
    });
  });

  describe('cancellable()', () => {
    it('does not open a source once the cancel has landed, and passes the signal to open()', async () => {
      const seen: (AbortSignal | undefined)[] = [];
      const source: ImageSource = { description: 'test', open: async (signal) => { seen.push(signal); return Readable.from([]); } };
      const ctl = new AbortController();
      await readAll(await cancellable(source, ctl.signal).open());
      assert.deepEqual(seen, [ctl.signal]);
      ctl.abort(new AbuError('ABU_ERR_CANCELLED', 'cancelled by the test'));
      await assert.rejects(cancellable(source, ctl.signal).open(), (e) => isAbuError(e, 'ABU_ERR_CANCELLED'));
      assert.equal(seen.length, 1);
    });
  });
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}
