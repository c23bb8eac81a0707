// FileSource and StreamSource feeding the bundle reader (the two sources `abu install` uses).
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { loadKeyring } from '../../../engine/bundle/bundle-reader';
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
