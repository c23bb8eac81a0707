// Bundle round trip and determinism over generated image layouts, key sets and chunk sizes.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createBundle } from '../../../engine/bundle/bundle-writer';
import { loadKeyring, openBundle } from '../../../engine/bundle/bundle-reader';
import { makeBundle, makeKey, tempDir, writeKeyring, bufferStream, imageBytes, type FixtureImage } from '../../helpers/bundle-fixtures';
import { expectCode, readBundle } from './read-bundle';

const KIB = 1024;
// The module object itself (not an import namespace) so a test can wrap createReadStream.
const fs: typeof import('node:fs') = require('node:fs');
const SIZES = [1, 4095, 4096, 4097, 64 * KIB - 1, 64 * KIB, 64 * KIB + 1, 200 * KIB + 17];

function layouts(): { label: string; images: FixtureImage[]; chunkSize: number }[] {
  const cases = SIZES.map((size) => ({ label: `one image of ${size} bytes`, images: [{ name: 'rootfs', size }], chunkSize: 64 * KIB }));
  for (let n = 2; n <= 4; n++) {
    const images = Array.from({ length: n }, (_, i) => ({ name: `img-${i}`, slotClass: i === 0 ? 'rootfs' : `part${i}`, size: SIZES[(i * 3 + n) % SIZES.length] }));
    cases.push({ label: `${n} images`, images, chunkSize: 128 * KIB });
  }
  return cases;
}

describe('bundle round trip', function () {
  this.timeout(20_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => { tmp = await tempDir(); });
  after(async () => tmp.cleanup());

  for (const [n, c] of layouts().entries()) {
    it(`reads back exactly what was written: ${c.label}`, async () => {
      const dir = await mkdtemp(path.join(tmp.dir, 'case-'));
      const keys = [makeKey(), makeKey()];
      const made = await makeBundle(dir, { images: c.images, keys, chunkSize: c.chunkSize, version: `1.${n}.0`, source: { exact: '1.0.0' }, irreversible: n % 2 === 0 });
      const bytes = await readFile(made.path);
      assert.equal(bytes.length, made.size);
      const keyring = await loadKeyring(await writeKeyring(dir, keys));
      for (const pieceSize of [1000, 4096, 65536 + 7]) {
        const got = await readBundle(bytes, keyring, { pieceSize });
        assert.deepEqual(got.images, made.images);
        assert.deepEqual(got.manifest, made.manifest);
        assert.deepEqual([...got.signedBy].sort(), keys.map((k) => k.keyId).sort());
      }
    });
  }

  it('is deterministic: same inputs in another directory and key order give the same bytes', async () => {
    const keys = [makeKey(), makeKey(), makeKey()];
    for (const c of layouts()) {
      const a = await tempDir();
      const b = await tempDir();
      const one = await makeBundle(a.dir, { images: c.images, keys, chunkSize: c.chunkSize });
      const two = await makeBundle(b.dir, { images: c.images, keys: [...keys].reverse(), chunkSize: c.chunkSize });
      assert.ok((await readFile(one.path)).equals(await readFile(two.path)), c.label);
      await a.cleanup();
      await b.cleanup();
    }
  });

  it('takes the build time from SOURCE_DATE_EPOCH, else the newest image mtime', async () => {
    const file = path.join(tmp.dir, 'time.img');
    await writeFile(file, imageBytes(5000));
    await utimes(file, 1600000000, 1600000123);
    const key = makeKey();
    const saved = process.env.SOURCE_DATE_EPOCH;
    try {
      delete process.env.SOURCE_DATE_EPOCH;
      const fromMtime = await createBundle({ product: 'p', version: '1.0.0', images: [{ name: 'r', slotClass: 'rootfs', path: file }], keys: [key.privateKey] }, path.join(tmp.dir, 't1.abu'));
      assert.equal(fromMtime.manifest.buildTime, 1600000123);
      process.env.SOURCE_DATE_EPOCH = '1234567';
      const fromEnv = await createBundle({ product: 'p', version: '1.0.0', images: [{ name: 'r', slotClass: 'rootfs', path: file }], keys: [key.privateKey] }, path.join(tmp.dir, 't2.abu'));
      assert.equal(fromEnv.manifest.buildTime, 1234567);
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
      else process.env.SOURCE_DATE_EPOCH = saved;
    }
  });

  it('refuses an image file that changes between the hash pass and the write pass, leaving no bundle', async () => {
    const file = path.join(tmp.dir, 'changing.img');
    const out = path.join(tmp.dir, 'changing.abu');
    const original = fs.createReadStream;
    for (const change of [(b: Buffer) => { b[100] ^= 1; return b; }, (b: Buffer) => b.subarray(0, 9000), (b: Buffer) => Buffer.concat([b, b])]) {
      await writeFile(file, imageBytes(10_000));
      let opens = 0;
      // The writer reads each image twice; the second open sees a file edited in between.
      (fs as { createReadStream: unknown }).createReadStream = (p: string, o: unknown) => {
        if (p === file && ++opens === 2) fs.writeFileSync(file, change(fs.readFileSync(file)));
        return original(p, o as Parameters<typeof original>[1]);
      };
      try {
        await expectCode(createBundle({ product: 'p', version: '1.0.0', images: [{ name: 'r', slotClass: 'rootfs', path: file }], keys: [makeKey().privateKey] }, out), 'ABU_ERR_IMAGE_DIGEST');
      } finally {
        (fs as { createReadStream: unknown }).createReadStream = original;
      }
      assert.equal(opens, 2);
      assert.deepEqual((await readdir(tmp.dir)).filter((n) => n.startsWith('changing.abu')), []);
    }
  });

  it('fills buffers from allocate() and hands out exact-length views', async () => {
    const key = makeKey();
    const made = await makeBundle(tmp.dir, { images: [{ name: 'a', size: 150 * KIB + 3 }, { name: 'b', size: 7 }], keys: [key], file: 'alloc.abu' });
    const bundle = await openBundle(bufferStream(await readFile(made.path)), await loadKeyring(await writeKeyring(tmp.dir, [key])));
    const allocated: Buffer[] = [];
    const allocate = (n: number): Buffer => { const b = Buffer.alloc(64 * KIB); allocated.push(b); assert.ok(n <= b.length); return b; };
    let seen = 0;
    for await (const { entry, chunks } of bundle.images({ allocate })) {
      for await (const chunk of chunks) {
        assert.equal(chunk.data.buffer, allocated[allocated.length - 1].buffer);
        assert.equal(chunk.data.length, Math.min(entry.chunkSize, entry.size - chunk.offset));
        assert.equal(chunk.crc32, entry.chunkCrc32[chunk.index]);
        seen++;
      }
    }
    await bundle.finish();
    assert.equal(seen, 4);
  });

  it('skips images whose chunks the consumer leaves unread, and finish() drains the rest', async () => {
    const key = makeKey();
    const made = await makeBundle(tmp.dir, { images: [{ name: 'a', size: 100 * KIB }, { name: 'b', size: 9000 }, { name: 'c', size: 3 }], keys: [key], file: 'skip.abu' });
    const keyring = await loadKeyring(await writeKeyring(tmp.dir, [key]));
    for (let stopAfter = 0; stopAfter <= 3; stopAfter++) {
      const bundle = await openBundle(bufferStream(await readFile(made.path)), keyring);
      let n = 0;
      for await (const { entry } of bundle.images()) {
        if (++n > stopAfter) break;
        assert.equal(entry.name, made.manifest.images[n - 1].name);
      }
      await bundle.finish();
      bundle.close();
    }
  });
});
