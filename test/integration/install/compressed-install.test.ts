// zstd bundles installed for real on the simulated appliance (then booted), and refused when bad (loop device: loop-device.test.ts).
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { chunkExtents } from '../../../engine/bundle/chunk-layout';
import { decodeHeader, DEFAULT_LIMITS, HEADER_SIZE, payloadStart } from '../../../engine/bundle/framing';
import { keyId } from '../../../engine/bundle/keyring';
import { decodeManifest } from '../../../engine/bundle/manifest-codec';
import { isAbuError, type AbuErrorCode } from '../../../engine/core/errors';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import type { TestKey } from '../../helpers/bundle-fixtures';
import { craftZstdBundle, zstdBundleFor, zstdImage } from '../../helpers/compressed-fixtures';
import { HttpUrlSource } from '../../../engine/sources/http-url-source';
import { startFaultServer } from '../http/fault-server';
import { bufferSource, simFixture, slotBytes, slotHash, type SimFixture } from '../../helpers/sim-fixture';
import { rleBombFrame } from '../../helpers/zstd-frames';

const MIB = 1024 * 1024;

async function simKey(sim: SimAppliance): Promise<TestKey> {
  const privateKey = createPrivateKey(await fs.readFile(sim.privateKeyPath));
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: keyId(publicKey), publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string };
}

describe('zstd bundles on the simulated appliance', function () {
  this.timeout(120_000);
  let f: SimFixture;
  let image: Buffer;
  let bundle: Buffer;
  let aHash: string;

  before(async () => {
    f = await simFixture();
    const made = await zstdBundleFor(f.sim, 3 * MIB, 64 * 1024);
    image = made.image;
    bundle = await fs.readFile(made.bundle);
    aHash = await slotHash(f.sim, 'A');
  });
  after(async () => f?.cleanup());

  it('refuses damaged, truncated, lying and exploding compressed chunks: typed error, A untouched, B not activated', async () => {
    const start = payloadStart(decodeHeader(bundle.subarray(0, HEADER_SIZE), DEFAULT_LIMITS));
    const manifest = decodeManifest(bundle.subarray(HEADER_SIZE, HEADER_SIZE + bundle.readUInt32LE(12)));
    const extent = chunkExtents(manifest.images[0], start)[7];
    const damaged = Buffer.from(bundle);
    damaged[extent.offset + Math.floor(extent.length / 2)] ^= 0x04;
    const key = await simKey(f.sim);
    const base = { ...manifest, images: undefined };
    const good = await zstdImage('rootfs', 'rootfs', image, 64 * 1024, 3);
    const withFrame = (j: number, frame: Buffer) => craftZstdBundle(base, [{ entry: good.entry, frames: good.frames.map((x, k) => (k === j ? frame : x)) }], [key]);
    const cases: [string, Buffer, AbuErrorCode][] = [
      ['a bit flipped in chunk 7\'s stored bytes', damaged, 'ABU_ERR_CHUNK_CRC'],
      ['cut inside chunk 7\'s frame', bundle.subarray(0, extent.offset + 10), 'ABU_ERR_BUNDLE_TRUNCATED'],
      ['chunk 20 a truncated frame', withFrame(20, good.frames[20].subarray(0, good.frames[20].length - 1)), 'ABU_ERR_CHUNK_DECOMPRESS'],
      ['chunk 30 a 1 GiB bomb', withFrame(30, rleBombFrame({ decodesTo: 1024 * MIB, declares: 64 * 1024 })), 'ABU_ERR_CHUNK_DECOMPRESS'],
      ['chunk 5 another chunk\'s frame', withFrame(5, good.frames[6]), 'ABU_ERR_CHUNK_CRC'],
    ];
    for (const [label, bytes, code] of cases) {
      // Not adaptive: each refused case leaves B holding the chunks verified before it, so an adaptive install would
      // rightly skip (never read) a bad frame B already holds; adaptive zstd refusals are in adaptive-install.test.ts.
      await assert.rejects(f.engine.install(bufferSource(bytes), { adaptive: false }), (e) => isAbuError(e, code) || assert.fail(`${label}: ${String(e)}`), label);
      const s = await f.engine.status();
      const b = s.slots.find((x) => x.name === 'B')!;
      assert.ok(!b.primary && b.state !== 'trying', `${label}: B activated`);
      assert.notEqual(b.image, 'verified', `${label}: B recorded as verified`);
    }
    assert.equal(await slotHash(f.sim, 'A'), aHash);
  });

  it('installs a zstd bundle from a URL that drops the connection twice inside compressed chunks (Range resume)', async () => {
    const server = await startFaultServer(bundle, { kind: 'drop', afterBytes: Math.floor(bundle.length / 3), times: 2 });
    try {
      const source = new HttpUrlSource(server.url(), { maxBytes: 64 * MIB, retries: 3, retryDelayMs: 10 });
      await f.engine.install(source, { activate: false });
      assert.equal(server.requests.length, 3, 'two resumes');
      assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image), 'B holds the decompressed image');
    } finally {
      await server.close();
    }
  });

  it('installs a zstd bundle into B, the slot holds the uncompressed image, and B boots', async () => {
    const result = await f.engine.install(bufferSource(bundle, { piece: 3000 }));
    assert.equal(result.slot, 'B');
    assert.equal(result.bytesWritten, image.length);
    assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image), 'B holds the decompressed image');
    assert.equal(await slotHash(f.sim, 'A'), aHash);
    await f.engine.reboot();
    const s = await f.engine.status();
    assert.equal(s.booted, 'B');
    assert.equal(s.slots.find((x) => x.name === 'B')!.version, '1.1.0');
  });
});
