// zstd bundles: written and read back per chunk, every chunk addressable, and every malformed stored chunk refused by name.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as zlib from 'node:zlib';
import { loadKeyring, type Keyring } from '../../../engine/bundle/bundle-reader';
import { createBundle } from '../../../engine/bundle/bundle-writer';
import { chunkExtents, maxStoredLength, storedLength, zstdCompressBound } from '../../../engine/bundle/chunk-layout';
import { decodeHeader, DEFAULT_LIMITS, payloadStart } from '../../../engine/bundle/framing';
import type { Manifest } from '../../../engine/bundle/manifest';
import { encodeManifest } from '../../../engine/bundle/manifest-codec';
import { craftBundle, makeBundle, makeKey, tempDir, writeKeyring, type TestKey } from '../../helpers/bundle-fixtures';
import { BASE_MANIFEST, compressibleImage, craftZstdBundle, zstdImage, type ZstdImage } from '../../helpers/compressed-fixtures';
import { rleBombFrame } from '../../helpers/zstd-frames';
import { expectCode, readBundle } from './read-bundle';

const CHUNK = 64 * 1024;

describe('zstd bundles', () => {
  let key: TestKey;
  let keyring: Keyring;
  let dir: string;
  let cleanup: () => Promise<void>;
  let images: ZstdImage[];

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    key = makeKey();
    keyring = await loadKeyring(await writeKeyring(dir, [key]));
    images = [
      await zstdImage('rootfs', 'rootfs', compressibleImage(5 * CHUNK + 1000, 'root'), CHUNK),
      await zstdImage('boot', 'boot', compressibleImage(3 * CHUNK, 'boot', 5), CHUNK),
    ];
  });
  after(async () => cleanup?.());

  /** The images with chunk `j` of image `i` replaced by `frame` (the stored tables follow unless keepTables). */
  function withFrame(i: number, j: number, frame: Buffer): ZstdImage[] {
    return images.map((img, n) => (n !== i ? img : { entry: img.entry, frames: img.frames.map((f, k) => (k === j ? frame : f)) }));
  }

  it('round-trips through the writer: smaller on disk, the same bytes out, digests over the uncompressed bytes', async () => {
    const data = [compressibleImage(7 * CHUNK + 5, 'a'), randomBytes(2 * CHUNK)];
    await fs.writeFile(`${dir}/rootfs.img`, data[0]);
    await fs.writeFile(`${dir}/data.img`, data[1]);
    const created = await createBundle({
      product: 'abu-test', version: '1.0.0', buildTime: 1, chunkSize: CHUNK, keys: [key.privateKey], zstdLevel: 3,
      images: [{ name: 'rootfs', slotClass: 'rootfs', path: `${dir}/rootfs.img` }, { name: 'data', slotClass: 'data', path: `${dir}/data.img` }],
    }, `${dir}/z.abu`);
    const bytes = await fs.readFile(`${dir}/z.abu`);
    assert.equal(bytes.length, created.size);
    const [root, random] = created.manifest.images;
    assert.equal(root.compression, 'zstd');
    assert.ok(storedLength(root) < root.size / 2, `compressible image stored in ${storedLength(root)} of ${root.size} bytes`);
    assert.ok(storedLength(random) <= zstdCompressBound(CHUNK) * 2, 'incompressible chunks stay within the bound');
    assert.ok(root.sha256.equals(createHash('sha256').update(data[0]).digest()), 'the signed digest is of the uncompressed image');
    assert.equal(root.chunkCrc32[0], zlib.crc32(data[0].subarray(0, CHUNK)));
    const read = await readBundle(bytes, keyring);
    assert.ok(read.images[0].equals(data[0]));
    assert.ok(read.images[1].equals(data[1]));
    assert.deepEqual((await fs.readdir(dir)).filter((f) => f.startsWith('.abu-spool')), [], 'the spool file is removed');
  });

  it('addresses every chunk: chunkExtents gives the file range holding its frame, compressed or not', async () => {
    for (const zstdLevel of [undefined, 3]) {
      const made = await makeBundle(dir, { images: [{ name: 'rootfs', size: 3 * CHUNK + 17 }, { name: 'app', size: 2 * CHUNK }], keys: [key], zstdLevel, file: `x-${zstdLevel}.abu` });
      const bytes = await fs.readFile(made.path);
      const start = payloadStart(decodeHeader(bytes.subarray(0, 32), DEFAULT_LIMITS));
      made.manifest.images.forEach((image, i) => {
        chunkExtents(image, start).forEach((extent, j) => {
          const stored = bytes.subarray(extent.offset, extent.offset + extent.length);
          const chunk = made.images[i].subarray(j * CHUNK, (j + 1) * CHUNK);
          if (image.compression === 'none') assert.ok(stored.equals(chunk), `image ${i} chunk ${j}`);
          else assert.equal(zlib.crc32(stored), image.chunkStoredCrc32![j], `image ${i} chunk ${j}`);
        });
      });
    }
  });

  it('reads a crafted zstd bundle with the same reader as an uncompressed one, in any piece size', async () => {
    const bundle = craftZstdBundle(BASE_MANIFEST, images, [key]);
    for (const pieceSize of [1000, 4096, 1 << 20]) {
      const read = await readBundle(bundle, keyring, { pieceSize });
      assert.equal(read.images[0].length, images[0].entry.size);
    }
  });

  it('refuses damaged stored bytes (the transport CRC32) naming image and chunk', async () => {
    const bundle = craftZstdBundle(BASE_MANIFEST, images, [key]);
    const start = payloadStart(decodeHeader(bundle.subarray(0, 32), DEFAULT_LIMITS));
    const m = (await readBundle(bundle, keyring)).manifest;
    const extent = chunkExtents(m.images[1], start)[2];
    const bad = Buffer.from(bundle);
    bad[extent.offset + 5] ^= 0x10;
    const e = await expectCode(readBundle(bad, keyring), 'ABU_ERR_CHUNK_CRC');
    assert.deepEqual([e.details.image, e.details.chunk], ['boot', 2]);
    assert.match(e.message, /image boot chunk 2/);
  });

  it('refuses a stored CRC32 table that does not match the frame', async () => {
    const imgs = images.map((i) => ({ entry: { ...i.entry, chunkStoredCrc32: [...i.entry.chunkStoredCrc32!] }, frames: i.frames }));
    imgs[0].entry.chunkStoredCrc32![3] ^= 1;
    const e = await expectCode(readBundle(craftZstdBundle(BASE_MANIFEST, imgs, [key], { keepTables: true }), keyring), 'ABU_ERR_CHUNK_CRC');
    assert.deepEqual([e.details.image, e.details.chunk], ['rootfs', 3]);
  });

  it('refuses a truncated frame, a frame of another chunk size and a zstd bomb with ABU_ERR_CHUNK_DECOMPRESS', async () => {
    const frame = images[0].frames[1];
    const other = await zstdImage('x', 'x', compressibleImage(CHUNK - 512, 'x'), CHUNK);
    const cases: [string, Buffer][] = [
      ['truncated frame', frame.subarray(0, frame.length - 3)],
      ['frame of a shorter chunk', other.frames[0]],
      ['frame with a byte after it', Buffer.concat([frame, Buffer.from([0])])],
      ['bomb that declares the chunk size', rleBombFrame({ decodesTo: 256 * 1024 * 1024, declares: CHUNK })],
      ['bomb that declares nothing', rleBombFrame({ decodesTo: 256 * 1024 * 1024 })],
    ];
    for (const [label, bad] of cases) {
      const e = await expectCode(readBundle(craftZstdBundle(BASE_MANIFEST, withFrame(0, 1, bad), [key]), keyring), 'ABU_ERR_CHUNK_DECOMPRESS', label);
      assert.deepEqual([e.details.image, e.details.chunk], ['rootfs', 1], label);
    }
  });

  it('refuses a valid frame of other bytes by the signed chunk CRC32 of the uncompressed bytes', async () => {
    const other = await zstdImage('x', 'x', compressibleImage(CHUNK, 'other', 3), CHUNK);
    const e = await expectCode(readBundle(craftZstdBundle(BASE_MANIFEST, withFrame(1, 0, other.frames[0]), [key]), keyring), 'ABU_ERR_CHUNK_CRC');
    assert.deepEqual([e.details.image, e.details.chunk], ['boot', 0]);
  });

  it('validates the stored table: sizes 0 or above the compress bound, wrong counts, a table on an uncompressed image', async () => {
    const mutate = (f: (m: Manifest) => void) => {
      const m: Manifest = { ...BASE_MANIFEST, images: images.map((i) => ({ ...i.entry, chunkStoredSize: [...i.entry.chunkStoredSize!], chunkStoredCrc32: [...i.entry.chunkStoredCrc32!] })) };
      f(m);
      return m;
    };
    const cases: [string, string, (m: Manifest) => void][] = [
      ['stored size 0', 'images[0].chunk_stored_size[2]', (m) => { m.images[0].chunkStoredSize![2] = 0; }],
      ['stored size above the bound', 'images[1].chunk_stored_size[0]', (m) => { m.images[1].chunkStoredSize![0] = zstdCompressBound(CHUNK) + 1; }],
      ['last chunk above its own bound', 'images[0].chunk_stored_size[5]', (m) => { m.images[0].chunkStoredSize![5] = zstdCompressBound(1000) + 1; }],
      ['one stored size too few', 'images[0].chunk_stored_size', (m) => { m.images[0].chunkStoredSize!.pop(); }],
      ['one stored CRC too many', 'images[1].chunk_stored_crc32', (m) => { m.images[1].chunkStoredCrc32!.push(7); }],
      ['a table on an uncompressed image', 'images[0].chunk_stored_size', (m) => { m.images[0].compression = 'none'; }],
    ];
    for (const [label, field, f] of cases) {
      const m = mutate(f);
      const e = await expectCode(readBundle(craftBundle(m, { keys: [key], payloads: [] }), keyring), 'ABU_ERR_MANIFEST_INVALID', label);
      assert.equal(e.details.field, field, label);
    }
  });

  it('maxStoredLength (what the HTTP upload limit admits per slot) bounds every valid stored table of an image that size', () => {
    for (const size of [1, 4095, CHUNK, CHUNK + 1, 5 * 1024 * 1024 + 7, 64 * 1024 * 1024]) {
      for (const chunkSize of [CHUNK, 128 * 1024, 4 * 1024 * 1024, 16 * 1024 * 1024]) {
        let worst = 0;
        for (let at = 0; at < size; at += chunkSize) worst += zstdCompressBound(Math.min(chunkSize, size - at));
        assert.ok(worst <= maxStoredLength(size), `size ${size} chunk ${chunkSize}: ${worst} > ${maxStoredLength(size)}`);
      }
      assert.ok(maxStoredLength(size) <= size * 1.005 + zstdCompressBound(CHUNK), 'and stays within 0.5 % and one chunk of the size');
    }
  });

  it('still encodes an uncompressed manifest byte for byte as before compression existed (golden from the previous reader)', () => {
    const sha = (s: string) => createHash('sha256').update(s).digest();
    const m: Manifest = {
      product: 'abu-golden', version: '2.3.4', description: 'golden', buildTime: 1700000000, source: { exact: '2.3.3' }, irreversible: false,
      images: [
        { name: 'rootfs', slotClass: 'rootfs', size: 200000, chunkSize: 65536, chunkCrc32: [1, 2, 3, 0xffffffff], chunkSha256: [sha('a'), sha('b'), sha('c'), sha('d')], sha256: sha('whole'), offset: 0, compression: 'none' },
        { name: 'boot', slotClass: 'boot', size: 70000, chunkSize: 65536, chunkCrc32: [5, 6], chunkSha256: [sha('e'), sha('f')], sha256: sha('boot'), offset: 200704, compression: 'none' },
      ],
    };
    // Computed with main's encoder before this change (git archive main; the same manifest object).
    assert.equal(createHash('sha256').update(encodeManifest(m)).digest('hex'), 'aa0cb290c964f6649a56fbb3693b6c9bb828eadaaac9d6da1678f0a1bf59f392');
  });
});
