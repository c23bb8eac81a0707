// HttpUrlSource against a local fault-injecting server: streaming, Range resume, bounded retries, clear errors.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { HttpUrlSource } from '../../../engine/sources/http-url-source';
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
});
