// zstd bundles installed for real: on the simulated appliance (then booted), on a loop block device, and refused when bad.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createBundle } from '../../../engine/bundle/bundle-writer';
import { chunkExtents } from '../../../engine/bundle/chunk-layout';
import { decodeHeader, DEFAULT_LIMITS, HEADER_SIZE, payloadStart } from '../../../engine/bundle/framing';
import { keyId } from '../../../engine/bundle/keyring';
import { decodeManifest } from '../../../engine/bundle/manifest-codec';
import { isAbuError, type AbuErrorCode } from '../../../engine/core/errors';
import { createEngine } from '../../../engine/engine';
import { DEMO_IMAGE_MAGIC } from '../../../engine/sim/demo-image';
import type { SimAppliance } from '../../../engine/sim/create-sim-appliance';
import { FileSource } from '../../../engine/sources/file-source';
import type { TestKey } from '../../helpers/bundle-fixtures';
import { compressibleImage, craftZstdBundle, zstdImage } from '../../helpers/compressed-fixtures';
import { loopAppliance, whyNoLoop } from '../../helpers/loop-appliance';
import { bufferSource, simFixture, slotBytes, slotHash, type SimFixture } from '../../helpers/sim-fixture';
import { rleBombFrame } from '../../helpers/zstd-frames';

const MIB = 1024 * 1024;

/** A compressible 1.1.0 image the simulated health check accepts, and its zstd bundle signed by the sim's key. */
async function zstdBundleFor(sim: SimAppliance, size: number, chunkSize: number): Promise<{ image: Buffer; bundle: string }> {
  const image = compressibleImage(size, `${DEMO_IMAGE_MAGIC} version=1.1.0\n`);
  const file = path.join(sim.dir, 'images', 'rootfs-1.1.0-z.img');
  await fs.writeFile(file, image);
  const bundle = path.join(sim.dir, 'bundles', 'z-1.1.0.abu');
  const key = createPrivateKey(await fs.readFile(sim.privateKeyPath));
  await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: file }], product: 'abu-demo-appliance', version: '1.1.0', source: { exact: '1.0.0' }, chunkSize, buildTime: 1, keys: [key], zstdLevel: 3 }, bundle);
  return { image, bundle };
}

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
      await assert.rejects(f.engine.install(bufferSource(bytes)), (e) => isAbuError(e, code) || assert.fail(`${label}: ${String(e)}`), label);
      const s = await f.engine.status();
      const b = s.slots.find((x) => x.name === 'B')!;
      assert.ok(!b.primary && b.state !== 'trying', `${label}: B activated`);
      assert.notEqual(b.image, 'verified', `${label}: B recorded as verified`);
    }
    assert.equal(await slotHash(f.sim, 'A'), aHash);
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

describe('zstd bundles onto a loop block device (root)', function () {
  this.timeout(120_000);
  let sim: SimAppliance;
  let loop = '';
  let cleanup: () => Promise<void> = async () => undefined;

  before(async function () {
    if (whyNoLoop()) return this.skip(); // CI runs as root with loop devices; see README
    ({ sim, loop, cleanup } = await loopAppliance('abu-zloop-'));
  });
  after(async () => cleanup());

  it('decompresses into /dev/loopNp3 with O_DIRECT, reads it back, and leaves A alone', async () => {
    const { image, bundle } = await zstdBundleFor(sim, 6 * MIB - 4096 + 123, 1 * MIB);
    const engine = await createEngine(sim.configPath);
    try {
      const aBefore = await slotHash(sim, 'A');
      const result = await engine.install(new FileSource(bundle));
      assert.equal(result.slot, 'B');
      execFileSync('sync');
      const onDevice = Buffer.alloc(image.length);
      const fh = await fs.open(`${loop}p3`, 'r');
      await fh.read(onDevice, 0, image.length, 0);
      await fh.close();
      assert.ok(onDevice.equals(image), 'the partition holds the decompressed image');
      assert.equal(await slotHash(sim, 'A'), aBefore);
      assert.ok((await fs.stat(bundle)).size < image.length / 2, 'the bundle was compressed');
    } finally {
      await engine.close();
    }
  });
});
