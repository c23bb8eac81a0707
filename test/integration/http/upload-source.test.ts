// UploadSource: a request body as a bundle source, bounded by the slot, failing loudly when the client goes away.
import assert from 'node:assert/strict';
import { PassThrough, type Readable } from 'node:stream';
import { UploadSource } from '../../../engine/sources/upload-source';

async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const c of stream) n += (c as Buffer).length;
  return n;
}

describe('UploadSource', () => {
  it('passes the body through unchanged', async () => {
    const body = new PassThrough();
    const source = new UploadSource(body, { description: 'test upload', maxBytes: 1 << 20, sizeHint: 3000 });
    const out = await source.open();
    body.end(Buffer.alloc(3000, 7));
    assert.equal(await drain(out), 3000);
  });

  it('errors with ABU_ERR_IMAGE_TOO_LARGE as soon as a body without a length passes the slot size', async () => {
    const body = new PassThrough();
    const out = await new UploadSource(body, { description: 'test upload', maxBytes: 10_000 }).open();
    body.write(Buffer.alloc(8000));
    body.end(Buffer.alloc(8000));
    await assert.rejects(drain(out), (e: any) => e.code === 'ABU_ERR_IMAGE_TOO_LARGE' && e.details.limit === 10_000);
  });

  it('refuses at open when the announced length is larger than the slot', async () => {
    const source = new UploadSource(new PassThrough(), { description: 'test upload', maxBytes: 100, sizeHint: 101 });
    await assert.rejects(source.open(), (e: any) => e.code === 'ABU_ERR_IMAGE_TOO_LARGE');
  });

  it('errors (never ends quietly) when the client goes away halfway', async () => {
    const body = new PassThrough();
    const out = await new UploadSource(body, { description: 'test upload', maxBytes: 1 << 20, sizeHint: 5000 }).open();
    body.write(Buffer.alloc(2000));
    setImmediate(() => body.destroy());
    await assert.rejects(drain(out), (e: any) => e.code === 'ABU_ERR_SOURCE' && /stopped sending after 2000 bytes/.test(e.message));
  });

  it('can be opened only once', async () => {
    const source = new UploadSource(new PassThrough(), { description: 'test upload', maxBytes: 100 });
    await source.open();
    await assert.rejects(source.open(), (e: any) => e.code === 'ABU_ERR_INTERNAL');
  });
});
