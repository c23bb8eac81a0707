// Truncation at every section boundary and random offsets; single bit flips in every section.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { HEADER_SIZE, payloadStart } from '../../../engine/bundle/framing';
import { ERROR_CODES, type AbuErrorCode } from '../../../engine/core/errors';
import { loadKeyring, type Keyring } from '../../../engine/bundle/bundle-reader';
import { makeBundle, makeKey, tempDir, writeKeyring, type FixtureBundle } from '../../helpers/bundle-fixtures';
import { expectCode, prng, randomInt, readBundle } from './read-bundle';

const KIB = 1024;

describe('bundle corruption', function () {
  this.timeout(20_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let made: FixtureBundle;
  let bytes: Buffer;
  let keyring: Keyring;
  let sections: { manifestEnd: number; signaturesEnd: number; payload: number };

  before(async () => {
    tmp = await tempDir();
    const key = makeKey();
    // Sizes that leave padding after each image, chunks that split, and a 1-byte last image.
    made = await makeBundle(tmp.dir, { images: [{ name: 'rootfs', size: 150 * KIB + 100 }, { name: 'data', slotClass: 'data', size: 70 * KIB }, { name: 'tiny', slotClass: 'misc', size: 1 }], keys: [key] });
    bytes = await readFile(made.path);
    keyring = await loadKeyring(await writeKeyring(tmp.dir, [key]));
    const manifestLength = bytes.readUInt32LE(12);
    const signatureLength = bytes.readUInt32LE(16);
    sections = {
      manifestEnd: HEADER_SIZE + manifestLength,
      signaturesEnd: HEADER_SIZE + manifestLength + signatureLength,
      payload: payloadStart({ manifestLength, signatureLength }),
    };
  });
  after(async () => tmp.cleanup());

  function boundaries(): number[] {
    const cuts = [0, 1, 7, 8, 31, HEADER_SIZE, HEADER_SIZE + 1, sections.manifestEnd - 1, sections.manifestEnd, sections.signaturesEnd - 1, sections.signaturesEnd, sections.payload - 1, sections.payload];
    for (const image of made.manifest.images) {
      const start = sections.payload + image.offset;
      cuts.push(start, start + 1, start + image.size - 1, start + image.size);
      for (let c = image.chunkSize; c < image.size; c += image.chunkSize) cuts.push(start + c - 1, start + c, start + c + 1);
    }
    return [...new Set(cuts)].filter((c) => c < bytes.length).sort((a, b) => a - b);
  }

  it('reports ABU_ERR_BUNDLE_TRUNCATED with the offset for a cut at every section boundary', async () => {
    const cuts = boundaries();
    assert.ok(cuts.length > 25);
    for (const cut of cuts) {
      const e = await expectCode(readBundle(bytes.subarray(0, cut), keyring), 'ABU_ERR_BUNDLE_TRUNCATED', `cut at ${cut}`);
      assert.equal(e.details.offset, cut, `cut at ${cut}: ${e.message}`);
      assert.match(e.message, new RegExp(`offset ${cut}\\b`));
    }
  });

  it('reports ABU_ERR_BUNDLE_TRUNCATED for cuts at 50 random offsets', async () => {
    const rand = prng(2);
    for (let i = 0; i < 50; i++) {
      const cut = randomInt(rand, bytes.length);
      const e = await expectCode(readBundle(bytes.subarray(0, cut), keyring, { pieceSize: 1 + randomInt(rand, 9000) }), 'ABU_ERR_BUNDLE_TRUNCATED', `cut at ${cut}`);
      assert.equal(e.details.offset, cut);
    }
  });

  it('names a short file that is not a bundle as such (not as a truncated bundle), and an empty one as empty', async () => {
    for (const text of ['hello\n', '<html>404</html>', 'x']) {
      const e = await expectCode(readBundle(Buffer.from(text), keyring), 'ABU_ERR_BUNDLE_MAGIC', JSON.stringify(text));
      assert.match(e.message, /not an abu bundle/);
      assert.ok(e.message.includes(JSON.stringify(text.slice(0, 8))), e.message);
    }
    const empty = await expectCode(readBundle(Buffer.alloc(0), keyring), 'ABU_ERR_BUNDLE_TRUNCATED', 'empty');
    assert.match(empty.message, /empty \(0 bytes\)/);
  });

  function flipped(position: number, bit: number): Buffer {
    const copy = Buffer.from(bytes);
    copy[position] ^= 1 << bit;
    return copy;
  }

  it('refuses every single-bit flip in the header with the code for that field', async () => {
    for (let position = 0; position < HEADER_SIZE; position++) {
      const expected = position < 8 ? 'ABU_ERR_BUNDLE_MAGIC' : position < 12 ? 'ABU_ERR_BUNDLE_VERSION' : 'ABU_ERR_BUNDLE_HEADER';
      for (let bit = 0; bit < 8; bit++) await expectCode(readBundle(flipped(position, bit), keyring), expected, `header byte ${position} bit ${bit}`);
    }
  });

  it('refuses flips in the manifest as ABU_ERR_SIGNATURE_INVALID (nothing unsigned is decoded)', async () => {
    const rand = prng(3);
    for (let i = 0; i < 60; i++) {
      const position = HEADER_SIZE + randomInt(rand, sections.manifestEnd - HEADER_SIZE);
      await expectCode(readBundle(flipped(position, randomInt(rand, 8)), keyring), 'ABU_ERR_SIGNATURE_INVALID', `manifest byte ${position}`);
    }
  });

  it('refuses every flip in the signature block', async () => {
    const codes = ['ABU_ERR_SIGNATURE_INVALID', 'ABU_ERR_SIGNATURE_DECODE', 'ABU_ERR_KEY_UNKNOWN', 'ABU_ERR_SIGNATURE_MISSING'] as const;
    for (let position = sections.manifestEnd; position < sections.signaturesEnd; position++) {
      for (const bit of [0, 3, 7]) await expectCode(readBundle(flipped(position, bit), keyring), [...codes], `signature byte ${position} bit ${bit}`);
    }
  });

  it('refuses flips in padding as ABU_ERR_BUNDLE_PADDING', async () => {
    const rand = prng(4);
    const gaps: [number, number][] = [[sections.signaturesEnd, sections.payload]];
    for (const image of made.manifest.images.slice(0, -1)) {
      const end = sections.payload + image.offset + image.size;
      gaps.push([end, sections.payload + Math.ceil((image.offset + image.size) / 4096) * 4096]);
    }
    for (const [from, to] of gaps) {
      assert.ok(to > from);
      for (let i = 0; i < 10; i++) {
        const position = from + randomInt(rand, to - from);
        const e = await expectCode(readBundle(flipped(position, randomInt(rand, 8)), keyring), 'ABU_ERR_BUNDLE_PADDING', `padding byte ${position}`);
        assert.equal(e.details.offset, position);
      }
    }
  });

  it('catches flips in the payload with verifyChunks as ABU_ERR_CHUNK_CRC naming image and chunk', async () => {
    const rand = prng(5);
    for (let i = 0; i < 60; i++) {
      const image = made.manifest.images[i % made.manifest.images.length];
      const within = randomInt(rand, image.size);
      const e = await expectCode(readBundle(flipped(sections.payload + image.offset + within, randomInt(rand, 8)), keyring), 'ABU_ERR_CHUNK_CRC', `${image.name} byte ${within}`);
      assert.equal(e.details.image, image.name);
      assert.equal(e.details.chunk, Math.floor(within / image.chunkSize));
    }
  });

  it('passes payload flips through untouched without verifyChunks (the installer verifies natively)', async () => {
    const image = made.manifest.images[0];
    const got = await readBundle(flipped(sections.payload + image.offset + 5, 1), keyring, { verifyChunks: false });
    assert.notDeepEqual(got.images[0], made.images[0]);
  });

  it('never crashes or accepts 150 random multi-byte corruptions anywhere in the bundle', async () => {
    const rand = prng(6);
    for (let i = 0; i < 150; i++) {
      const copy = Buffer.from(bytes);
      const at = randomInt(rand, bytes.length);
      const length = 1 + randomInt(rand, 64);
      for (let j = at; j < Math.min(at + length, copy.length); j++) copy[j] = randomInt(rand, 256);
      if (copy.equals(bytes)) continue;
      const e = await expectCode(readBundle(copy, keyring), Object.keys(ERROR_CODES) as AbuErrorCode[], `bytes ${at}..${at + length}`);
      assert.notEqual(e.code, 'ABU_ERR_INTERNAL', e.message);
    }
  });

  it('refuses trailing bytes after the last payload with ABU_ERR_BUNDLE_TRAILING', async () => {
    for (const extra of [Buffer.alloc(1), Buffer.alloc(4096), Buffer.from('junk'), Buffer.alloc(100_000, 7)]) {
      const e = await expectCode(readBundle(Buffer.concat([bytes, extra]), keyring), 'ABU_ERR_BUNDLE_TRAILING', `${extra.length} extra bytes`);
      assert.equal(e.details.offset, bytes.length);
    }
  });
});
