// Signed but malformed bundles: every manifest rule, garbage protobuf and absurd header lengths.
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { PassThrough } from 'node:stream';
import { encodeHeader, MIB } from '../../../engine/bundle/framing';
import { loadKeyring, openBundle, type Keyring, type Manifest } from '../../../engine/bundle/bundle-reader';
import { schema } from '../../../engine/bundle/proto-schema';
import type { AbuErrorCode } from '../../../engine/core/errors';
import { craftBundle, describeImages, imageBytes, makeKey, tempDir, writeKeyring, type TestKey } from '../../helpers/bundle-fixtures';
import { expectCode, prng, randomInt, readBundle } from './read-bundle';

interface Case { label: string; code: AbuErrorCode; field?: string; mutate: (m: Manifest) => void }

const CASES: Case[] = [
  { label: 'duplicate image names', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[1].name', mutate: (m) => { m.images[1].name = m.images[0].name; } },
  { label: 'two images for one slot class', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[1].slot_class', mutate: (m) => { m.images[1].slotClass = m.images[0].slotClass; } },
  { label: 'one CRC too many', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].chunk_crc32', mutate: (m) => { m.images[0].chunkCrc32.push(1); } },
  { label: 'one CRC too few', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].chunk_crc32', mutate: (m) => { m.images[0].chunkCrc32.pop(); } },
  { label: 'one SHA-256 too few', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[1].chunk_sha256', mutate: (m) => { m.images[1].chunkSha256.pop(); } },
  { label: 'a 31-byte chunk digest', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].chunk_sha256[1]', mutate: (m) => { m.images[0].chunkSha256[1] = m.images[0].chunkSha256[1].subarray(1); } },
  { label: 'a 33-byte image digest', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].sha256', mutate: (m) => { m.images[0].sha256 = Buffer.alloc(33); } },
  { label: 'first offset not 0', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].offset', mutate: (m) => { m.images[0].offset = 4096; } },
  { label: 'unaligned offset', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[1].offset', mutate: (m) => { m.images[1].offset += 1; } },
  { label: 'overlapping offset', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[1].offset', mutate: (m) => { m.images[1].offset -= 4096; } },
  { label: 'a gap of one extra page', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[1].offset', mutate: (m) => { m.images[1].offset += 4096; } },
  { label: 'chunk size not a power of two', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].chunk_size', mutate: (m) => { m.images[0].chunkSize = 96 * 1024; } },
  { label: 'chunk size below 64 KiB', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].chunk_size', mutate: (m) => { m.images[0].chunkSize = 32 * 1024; } },
  { label: 'chunk size above 16 MiB', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].chunk_size', mutate: (m) => { m.images[0].chunkSize = 32 * MIB; } },
  { label: 'size 0', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[1].size', mutate: (m) => { m.images[1].size = 0; } },
  { label: 'size above 2^53', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].size', mutate: (m) => { m.images[0].size = 2 ** 60; } },
  { label: 'offset above 2^53', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[1].offset', mutate: (m) => { m.images[1].offset = 2 ** 63; } },
  { label: 'build time above 2^53', code: 'ABU_ERR_MANIFEST_INVALID', field: 'build_time', mutate: (m) => { m.buildTime = 2 ** 54; } },
  { label: 'no images', code: 'ABU_ERR_MANIFEST_INVALID', field: 'images', mutate: (m) => { m.images = []; } },
  { label: 'version not semver', code: 'ABU_ERR_MANIFEST_INVALID', field: 'version', mutate: (m) => { m.version = '1.0'; } },
  { label: 'version with a v', code: 'ABU_ERR_MANIFEST_INVALID', field: 'version', mutate: (m) => { m.version = 'v1.0.0'; } },
  { label: 'version over 64 chars', code: 'ABU_ERR_MANIFEST_INVALID', field: 'version', mutate: (m) => { m.version = `1.0.0-${'a'.repeat(60)}`; } },
  { label: 'empty version', code: 'ABU_ERR_MANIFEST_INVALID', field: 'version', mutate: (m) => { m.version = ''; } },
  { label: 'empty product', code: 'ABU_ERR_MANIFEST_INVALID', field: 'product', mutate: (m) => { m.product = ''; } },
  { label: 'product with a newline', code: 'ABU_ERR_MANIFEST_INVALID', field: 'product', mutate: (m) => { m.product = 'a\nb'; } },
  { label: 'description over 4 KiB', code: 'ABU_ERR_MANIFEST_INVALID', field: 'description', mutate: (m) => { m.description = 'é'.repeat(2049); } },
  { label: 'bad exact predecessor', code: 'ABU_ERR_MANIFEST_INVALID', field: 'source.exact', mutate: (m) => { m.source.exact = 'latest'; } },
  { label: 'bad source range', code: 'ABU_ERR_MANIFEST_INVALID', field: 'source.range', mutate: (m) => { m.source.range = '>>1'; } },
  ...['', '.hidden', 'a/b', '../x', 'a b', 'x'.repeat(65), 'ü'].map((name): Case => ({
    label: `image name ${JSON.stringify(name)}`, code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[0].name', mutate: (m) => { m.images[0].name = name; },
  })),
  ...['', 'root/fs', '.x'].map((slotClass): Case => ({
    label: `slot class ${JSON.stringify(slotClass)}`, code: 'ABU_ERR_MANIFEST_INVALID', field: 'images[1].slot_class', mutate: (m) => { m.images[1].slotClass = slotClass; },
  })),
];

describe('malformed bundles', function () {
  this.timeout(20_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let key: TestKey;
  let keyring: Keyring;
  let payloads: Buffer[];
  let base: Manifest;

  before(async () => {
    tmp = await tempDir();
    key = makeKey();
    keyring = await loadKeyring(await writeKeyring(tmp.dir, [key]));
    payloads = [imageBytes(200 * 1024 + 5, 'a'), imageBytes(9000, 'b')];
    const images = await describeImages(tmp.dir, [{ name: 'rootfs', data: payloads[0] }, { name: 'data', slotClass: 'data', data: payloads[1] }]);
    base = { product: 'p', version: '2.0.0', description: 'd', buildTime: 1, source: {}, irreversible: false, images };
  });
  after(async () => tmp.cleanup());

  const fresh = (): Manifest => structuredClone({ ...base, images: base.images.map((i) => ({ ...i })) });

  it('accepts the unmodified base case (so the refusals below are caused by the mutation)', async () => {
    const got = await readBundle(craftBundle(fresh(), { keys: [key], payloads }), keyring);
    assert.deepEqual(got.images, payloads);
  });

  for (const c of CASES) {
    it(`refuses ${c.label} with ${c.code}`, async () => {
      const m = fresh();
      c.mutate(m);
      const e = await expectCode(readBundle(craftBundle(m, { keys: [key], payloads }), keyring), c.code, c.label);
      if (c.field !== undefined) assert.equal(e.details.field, c.field, e.message);
      if (c.field !== undefined) assert.ok(e.message.includes(c.field), e.message);
    });
  }

  it('refuses images above maxImageBytes with ABU_ERR_BUNDLE_LIMIT', async () => {
    await expectCode(readBundle(craftBundle(fresh(), { keys: [key], payloads }), keyring, { maxImageBytes: 100 * 1024 }), 'ABU_ERR_BUNDLE_LIMIT');
  });

  it('catches a wrong chunk digest (right CRC) and a wrong image digest with verifyChunks', async () => {
    const m = fresh();
    m.images[0].chunkSha256[2] = Buffer.alloc(32, 1);
    await expectCode(readBundle(craftBundle(m, { keys: [key], payloads }), keyring), 'ABU_ERR_CHUNK_DIGEST');
    const w = fresh();
    w.images[1].sha256 = Buffer.alloc(32, 2);
    await expectCode(readBundle(craftBundle(w, { keys: [key], payloads }), keyring), 'ABU_ERR_IMAGE_DIGEST');
  });

  it('refuses every compression other than none and zstd with ABU_ERR_COMPRESSION_UNSUPPORTED (xz and unknown values)', async () => {
    const { Manifest: type } = schema();
    const encoded = (compression: number) => {
      const m = fresh();
      const object = { ...m, images: m.images.map((i) => ({ ...i, compression })) };
      return { m, manifestBytes: Buffer.from(type.encode(type.fromObject(object)).finish()) };
    };
    for (const compression of [2, 3, 1000]) {
      const { m, manifestBytes } = encoded(compression);
      await expectCode(readBundle(craftBundle(m, { keys: [key], payloads, manifestBytes }), keyring), 'ABU_ERR_COMPRESSION_UNSUPPORTED', `compression ${compression}`);
    }
    // zstd is read, so a zstd image without its stored-chunk table is an invalid manifest, not an unsupported one.
    const { m, manifestBytes } = encoded(1);
    const e = await expectCode(readBundle(craftBundle(m, { keys: [key], payloads, manifestBytes }), keyring), 'ABU_ERR_MANIFEST_INVALID', 'zstd without a table');
    assert.equal(e.details.field, 'images[0].chunk_stored_size');
  });

  it('never crashes on signed garbage instead of a manifest', async () => {
    const rand = prng(7);
    const definite = [Buffer.from([0xff]), Buffer.alloc(10, 0xff), Buffer.from([0x0a, 0x7f]), Buffer.from([0x3a, 0x05, 0x0a])];
    for (const garbage of definite) {
      await expectCode(readBundle(craftBundle(fresh(), { keys: [key], payloads, manifestBytes: garbage }), keyring), 'ABU_ERR_MANIFEST_DECODE', garbage.toString('hex'));
    }
    for (let i = 0; i < 200; i++) {
      const garbage = Buffer.from(Array.from({ length: 1 + randomInt(rand, 300) }, () => randomInt(rand, 256)));
      await expectCode(readBundle(craftBundle(fresh(), { keys: [key], payloads, manifestBytes: garbage }), keyring), ['ABU_ERR_MANIFEST_DECODE', 'ABU_ERR_MANIFEST_INVALID', 'ABU_ERR_COMPRESSION_UNSUPPORTED'], garbage.toString('hex'));
    }
  });

  it('refuses absurd length fields from the header alone, without waiting for more bytes', async () => {
    const lengths: [number, number, AbuErrorCode][] = [
      [64 * MIB, 100, 'ABU_ERR_BUNDLE_LIMIT'], [MIB + 1, 100, 'ABU_ERR_BUNDLE_LIMIT'], [0xffffffff, 0, 'ABU_ERR_BUNDLE_LIMIT'],
      [100, 64 * 1024 + 1, 'ABU_ERR_BUNDLE_LIMIT'], [100, 0xffffffff, 'ABU_ERR_BUNDLE_LIMIT'], [0, 100, 'ABU_ERR_BUNDLE_HEADER'],
    ];
    for (const [manifestLength, signatureLength, code] of lengths) {
      const stream = new PassThrough();
      stream.write(encodeHeader({ manifestLength, signatureLength })); // and never end: a limit must not wait
      const e = await expectCode(openBundle(stream, keyring, { idleTimeoutMs: 60_000 }), code, `${manifestLength}/${signatureLength}`);
      assert.ok(e.message.length > 20);
    }
  });

  it('refuses unknown flags and reserved bits even with a correct header CRC', async () => {
    for (const field of [20, 24]) {
      for (let bit = 0; bit < 32; bit += 5) {
        const header = encodeHeader({ manifestLength: 10, signatureLength: 0 });
        header.writeUInt32LE(2 ** bit, field);
        header.writeUInt32LE(crc32(header.subarray(0, 28)), 28);
        await expectCode(openBundle(new PassThrough().end(header), keyring), 'ABU_ERR_BUNDLE_HEADER', `field ${field} bit ${bit}`);
      }
    }
  });
});
