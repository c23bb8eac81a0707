// The addon's zstd codec: round trip, the compress bound, and every malformed stored chunk refused inside its buffer.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { zstdCompressBound, zstdInPlaceMargin } from '../../../engine/bundle/chunk-layout';
import { ZstdChunkError, zstdCompress, zstdCompressBoundNative, zstdDecompressInto, zstdMaxLevel, zstdVersion } from '../../../native/zstd';
import { crcOf, rleBombFrame } from '../../helpers/zstd-frames';

const MIB = 1024 * 1024;
const GUARD = 4096;

/** Text-like bytes that compress well, with a random tail so no two calls give the same chunk. */
function compressible(n: number): Buffer {
  const line = Buffer.from('Jan 01 00:00:00 appliance kernel: eth0: link up, 1000 Mbps, full duplex\n');
  const b = Buffer.alloc(n);
  for (let at = 0; at < n; at += line.length) line.copy(b, at);
  randomBytes(Math.min(64, n)).copy(b, n - Math.min(64, n));
  return b;
}

/** A destination of n bytes followed by a guard band, so a write past n would show. */
function guarded(n: number): { dst: Buffer; guardIntact: () => boolean } {
  const whole = Buffer.alloc(n + GUARD, 0xa5);
  return { dst: whole.subarray(0, n), guardIntact: () => whole.subarray(n).every((x) => x === 0xa5) };
}

async function refusal(p: Promise<unknown>): Promise<ZstdChunkError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ZstdChunkError, `expected a ZstdChunkError, got ${String(e)}`);
    return e;
  }
  assert.fail('the stored chunk was accepted');
}

describe('native zstd codec', () => {
  it('round-trips chunks of several sizes and levels, many in flight, through the threadpool', async () => {
    const inputs = [1, 4095, 65536, 65537, 1 * MIB + 3, 4 * MIB].flatMap((n) => [compressible(n), randomBytes(n)]);
    // Level 19 is slow on a 2-core CI machine: only on the small inputs.
    await Promise.all(inputs.flatMap((input) => (input.length <= 65537 ? [1, 3, 19] : [1, 3]).map(async (level) => {
      const frame = await zstdCompress(input, level);
      assert.ok(frame.length <= zstdCompressBound(input.length), 'a frame never exceeds the bound the manifest validator uses');
      const { dst, guardIntact } = guarded(input.length);
      await zstdDecompressInto(frame, dst, zlib.crc32(frame));
      assert.ok(dst.equals(input), `length ${input.length} level ${level}`);
      assert.ok(guardIntact());
    })));
    assert.match(zstdVersion(), /^1\.\d+\.\d+$/);
    assert.ok(zstdMaxLevel() >= 19);
  });

  it('decodes stored bytes lying at the end of the destination buffer (in place), with or without room for the margin', async () => {
    const n = 4 * MIB;
    for (const [name, original] of [['compressible', compressible(n)], ['random', randomBytes(n)]] as const) {
      const frame = await zstdCompress(original, 3);
      // With zstdInPlaceMargin(n) bytes past the chunk (as a pool buffer has), and with none: the frame overlapping the
      // chunk's own bytes, where decoding in place would overwrite input it has not read yet (the addon copies it first).
      for (const spare of [zstdInPlaceMargin(n), 0]) {
        const whole = Buffer.alloc(n + spare);
        if (frame.length > whole.length) continue;
        frame.copy(whole, whole.length - frame.length);
        const stored = whole.subarray(whole.length - frame.length);
        await zstdDecompressInto(stored, whole.subarray(0, n), crcOf(frame));
        assert.ok(whole.subarray(0, n).equals(original), `${name}, ${spare} spare bytes: the chunk decoded intact`);
      }
    }
  });

  it('compresses deterministically: the same chunk and level give the same frame', async () => {
    const input = compressible(3 * MIB);
    assert.ok((await zstdCompress(input, 9)).equals(await zstdCompress(input, 9)));
  });

  it('computes ZSTD_COMPRESSBOUND in TypeScript exactly as libzstd does', () => {
    for (const n of [0, 1, 255, 256, 2047, 2048, 65535, 65536, 131071, 131072, 131073, MIB, 4 * MIB, 16 * MIB, 16 * MIB - 1]) {
      assert.equal(zstdCompressBound(n), zstdCompressBoundNative(n), `n = ${n}`);
    }
  });

  it('refuses stored bytes whose CRC32 differs before decoding them', async () => {
    const frame = await zstdCompress(compressible(MIB), 3);
    const e = await refusal(zstdDecompressInto(frame, Buffer.alloc(MIB), zlib.crc32(frame) ^ 1));
    assert.equal(e.kind, 'crc32');
  });

  it('refuses a truncated frame, a frame with trailing bytes and bytes that are no frame', async () => {
    const input = compressible(MIB);
    const frame = await zstdCompress(input, 3);
    for (const bad of [frame.subarray(0, frame.length - 1), frame.subarray(0, 6), Buffer.concat([frame, Buffer.from([0])]), randomBytes(64), Buffer.alloc(0)]) {
      const { dst, guardIntact } = guarded(MIB);
      const e = await refusal(zstdDecompressInto(bad, dst, crcOf(bad)));
      assert.ok(e.kind === 'frame' || e.kind === 'size', `${bad.length} bytes: ${e.kind}`);
      assert.ok(guardIntact());
    }
  });

  it('refuses a frame that declares or decodes to another size than the chunk', async () => {
    const frame = await zstdCompress(compressible(MIB), 3);
    for (const n of [MIB - 1, MIB + 1, 64 * 1024]) {
      const { dst, guardIntact } = guarded(n);
      assert.equal((await refusal(zstdDecompressInto(frame, dst, crcOf(frame)))).kind, 'size', `chunk of ${n}`);
      assert.ok(guardIntact());
    }
  });

  it('refuses zstd bombs without writing past the chunk or allocating what they decode to', async () => {
    const chunk = 4 * MIB;
    const bombs = [
      rleBombFrame({ decodesTo: 1024 * MIB }), // no declared size: the decoder stops at the buffer's end
      rleBombFrame({ decodesTo: 1024 * MIB, declares: chunk }), // lies about its size
      rleBombFrame({ decodesTo: 1024 * MIB, declares: 1024 * MIB }), // honest, far too large: refused from the header
    ];
    global.gc?.();
    const before = process.memoryUsage().rss;
    for (const bomb of bombs) {
      assert.ok(bomb.length <= zstdCompressBound(chunk), 'small enough to pass the manifest validator');
      const { dst, guardIntact } = guarded(chunk);
      const e = await refusal(zstdDecompressInto(bomb, dst, crcOf(bomb)));
      assert.ok(e.kind === 'size' || e.kind === 'frame', e.message);
      assert.ok(guardIntact(), 'nothing written beyond the chunk');
    }
    // Decoding any of them would touch 1 GiB; the codec's own memory is a ~100 KiB context per thread.
    const grown = process.memoryUsage().rss - before;
    assert.ok(grown < 64 * MIB, `RSS grew by ${Math.round(grown / MIB)} MiB while refusing the bombs`);
  });

  it('decodes the hand-made RLE frame when the chunk really is that size (the bomb frames are valid zstd)', async () => {
    const frame = rleBombFrame({ decodesTo: 512 * 1024, declares: 512 * 1024 });
    const dst = Buffer.alloc(512 * 1024);
    await zstdDecompressInto(frame, dst, crcOf(frame));
    assert.ok(dst.every((x) => x === 0x41));
  });
});
