// FileSource and StreamSource feeding the bundle reader (the two sources `abu install` uses).
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { loadKeyring } from '../../../engine/bundle/bundle-reader';
import type { PositionalReadable } from '../../../engine/bundle/byte-reader';
import type { AbuErrorCode } from '../../../engine/core/errors';
import { FileSource } from '../../../engine/sources/file-source';
import { StreamSource } from '../../../engine/sources/stream-source';
import { makeBundle, makeKey, tempDir, writeKeyring } from '../../helpers/bundle-fixtures';
import { expectCode, readBundle } from './read-bundle';

describe('bundle sources', function () {
  this.timeout(20_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  after(async () => tmp.cleanup());

  it('FileSource streams a bundle, reports its size and opens once', async () => {
    tmp = await tempDir();
    const key = makeKey();
    for (const size of [1, 65536, 3 * 1024 * 1024 + 5]) {
      const made = await makeBundle(tmp.dir, { images: [{ name: 'rootfs', size }], keys: [key], file: `f${size}.abu` });
      const source = new FileSource(made.path);
      assert.equal(source.sizeHint, undefined);
      const stream = await source.open();
      assert.equal(source.sizeHint, made.size);
      const got = await readBundle(stream, await loadKeyring(await writeKeyring(tmp.dir, [key])));
      assert.deepEqual(got.images, made.images);
      await expectCode(source.open(), 'ABU_ERR_INTERNAL');
    }
  });

  it('FileSource feeds the reader by positional reads: truncation, trailing bytes, padding, read errors', async () => {
    const key = makeKey();
    const made = await makeBundle(tmp.dir, { images: [{ name: 'a', size: 100_000 }, { name: 'b', size: 3000 }], keys: [key], file: 'direct.abu' });
    const keyring = await loadKeyring(await writeKeyring(tmp.dir, [key]));
    const bytes = await readFile(made.path);
    const variants: [string, Buffer, string, number][] = [0, 20, 32, 500, 4096, 50_000, 4096 + 100_000, bytes.length - 1]
      .map((cut) => [`cut at ${cut}`, bytes.subarray(0, cut), 'ABU_ERR_BUNDLE_TRUNCATED', cut]);
    variants.push(['trailing byte', Buffer.concat([bytes, Buffer.alloc(1)]), 'ABU_ERR_BUNDLE_TRAILING', bytes.length]);
    const padded = Buffer.from(bytes);
    padded[4096 + 100_001] = 1;
    variants.push(['padding', padded, 'ABU_ERR_BUNDLE_PADDING', 4096 + 100_001]);
    for (const [label, content, code, offset] of variants) {
      const file = path.join(tmp.dir, 'variant.abu');
      await writeFile(file, content);
      const stream = await new FileSource(file).open();
      const e = await expectCode(readBundle(stream, keyring), code as AbuErrorCode, label);
      assert.equal(e.details.offset, offset, label);
      assert.equal((stream as unknown as { bytesRead: number }).bytesRead, 0, 'the stream itself was never read');
    }
    const eio = await new FileSource(made.path).open();
    const realRead = (eio as unknown as PositionalReadable).readAt;
    Object.assign(eio, { readAt: (t: Buffer, p: number) => (p >= 4096 + 65_536 ? Promise.reject(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })) : realRead(t, p)) });
    const e = await expectCode(readBundle(eio, keyring), 'ABU_ERR_SOURCE', 'EIO');
    assert.match(e.message, /EIO/);
    assert.equal(e.details.offset, 4096 + 65_536);
  });

  it('FileSource refuses missing files and directories with ABU_ERR_SOURCE naming the path', async () => {
    await mkdir(path.join(tmp.dir, 'dir.abu'));
    for (const name of ['missing.abu', 'dir.abu']) {
      const e = await expectCode(new FileSource(path.join(tmp.dir, name)).open(), 'ABU_ERR_SOURCE', name);
      assert.ok(e.message.includes(name));
    }
  });

  it('StreamSource hands over a live stream once and refuses an ended one', async () => {
    const key = makeKey();
    const made = await makeBundle(tmp.dir, { images: [{ name: 'rootfs', size: 10_000 }], keys: [key], file: 's.abu' });
    const pipe = new PassThrough();
    const source = new StreamSource(pipe, 'standard input');
    const stream = await source.open();
    pipe.end(await readFile(made.path));
    assert.deepEqual((await readBundle(stream, await loadKeyring(await writeKeyring(tmp.dir, [key])))).images, made.images);
    await expectCode(source.open(), 'ABU_ERR_INTERNAL');
    await expectCode(new StreamSource(pipe).open(), 'ABU_ERR_SOURCE');
  });
});
