// COBS and the binary block frame under fast-check properties, and the device's frame/line splitter on chopped streams.
import assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { isAbuError } from '../../../../engine/core/errors';
import { cobsDecode, cobsEncode, cobsMaxEncoded } from '../../../../engine/transports/serial/cobs';
import { BINARY_BLOCK_BYTES, MAX_FRAME_BYTES, decodeFrame, encodeFrame } from '../../../../engine/transports/serial/binary-frame';
import { LineSplitter } from '../../../../engine/transports/serial/console-protocol';
import { ConsoleSplitter, type ConsoleItem } from '../../../../engine/transports/serial/frame-splitter';

/** Bytes rich in zeros and in the values a cooked tty would eat (XON/XOFF, ^C, CR, LF), and runs near 254. */
const bytes = (maxLength: number) => fc.oneof(
  fc.uint8Array({ maxLength }),
  fc.array(fc.constantFrom(0, 1, 0x03, 0x0a, 0x0d, 0x11, 0x13, 0xff), { maxLength }),
  fc.tuple(fc.integer({ min: 250, max: 520 }), fc.constantFrom(0, 7)).map(([n, v]) => new Uint8Array(n).fill(v === 0 ? 0 : 7)),
).map((a) => Buffer.from(a));
const params = { numRuns: 500, seed: 0x5e7a1 };

/** Every item of a splitter, frames as hex so assert can compare them. */
function run(splitter: ConsoleSplitter, pieces: Buffer[]): unknown[] {
  const out: ConsoleItem[] = [];
  for (const p of pieces) out.push(...splitter.push(p));
  return out.map((i) => ('frame' in i ? { frame: i.frame.toString('hex') } : 'line' in i ? i : { error: i.error.code }));
}

function framesOn(): ConsoleSplitter {
  const s = new ConsoleSplitter(new LineSplitter());
  s.frames = true;
  return s;
}

describe('COBS', () => {
  it('round-trips any bytes, never emits 0x00, and adds at most one byte in 254 plus one', () => {
    fc.assert(fc.property(bytes(2000), (src) => {
      const enc = cobsEncode(src);
      assert.equal(enc.includes(0), false);
      assert.ok(enc.length <= cobsMaxEncoded(src.length));
      assert.deepEqual(cobsDecode(enc), src);
    }), params);
  });

  it('decodes any input to bytes or a typed ABU_ERR_SERIAL_BLOCK, never anything else', () => {
    fc.assert(fc.property(bytes(600), (junk) => {
      try {
        cobsDecode(junk);
      } catch (e) {
        assert.ok(isAbuError(e, 'ABU_ERR_SERIAL_BLOCK'), String(e));
      }
    }), params);
  });

  it('encodes the classic examples', () => {
    assert.deepEqual(cobsEncode(Buffer.from([0])), Buffer.from([1, 1]));
    assert.deepEqual(cobsEncode(Buffer.from([0x11, 0x22, 0, 0x33])), Buffer.from([3, 0x11, 0x22, 2, 0x33]));
    assert.deepEqual(cobsEncode(Buffer.alloc(254, 1)), Buffer.concat([Buffer.of(0xff), Buffer.alloc(254, 1), Buffer.of(1)]));
    assert.throws(() => cobsDecode(Buffer.from([5, 1, 2])), (e) => isAbuError(e, 'ABU_ERR_SERIAL_BLOCK'));
  });
});

describe('binary block frame', () => {
  it('round-trips seq and payload, delimited by 0x00 at both ends and nowhere else', () => {
    fc.assert(fc.property(fc.nat(), bytes(BINARY_BLOCK_BYTES).filter((b) => b.length > 0), (seq, data) => {
      const wire = encodeFrame(seq, data);
      assert.equal(wire[0], 0);
      assert.equal(wire.at(-1), 0);
      assert.equal(wire.subarray(1, -1).includes(0), false);
      assert.ok(wire.length - 2 <= MAX_FRAME_BYTES);
      assert.deepEqual(decodeFrame(wire.subarray(1, -1)), { seq, data });
    }), params);
  });

  it('refuses a frame with a damaged byte or lost bytes instead of taking other data', () => {
    fc.assert(fc.property(fc.nat(), bytes(300).filter((b) => b.length > 0), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (seq, data, at, xor, lose) => {
      const frame = Buffer.from(encodeFrame(seq, data).subarray(1, -1));
      const i = at % frame.length;
      const damaged = lose ? Buffer.concat([frame.subarray(0, i), frame.subarray(i + 1)]) : frame;
      if (!lose) damaged[i] ^= xor;
      assert.throws(() => decodeFrame(damaged), (e) => isAbuError(e, 'ABU_ERR_SERIAL_BLOCK') && typeof e.details.reason === 'string');
    }), params);
  });

  it('names the reason: too short, a length that does not match, an empty or oversized block', () => {
    const inner = (seq: number, d: Buffer) => encodeFrame(seq, d).subarray(1, -1);
    assert.throws(() => decodeFrame(cobsEncode(Buffer.from([0, 0, 0, 1]))), (e) => isAbuError(e) && e.details.reason === 'malformed' && e.details.seq === 1);
    assert.throws(() => decodeFrame(inner(3, Buffer.alloc(0))), (e) => isAbuError(e) && e.details.reason === 'bad-length' && e.details.seq === 3);
    assert.throws(() => decodeFrame(inner(4, Buffer.alloc(BINARY_BLOCK_BYTES + 1, 9))), (e) => isAbuError(e) && e.details.reason === 'bad-length');
  });
});

describe('device splitter with frames on', () => {
  const a = encodeFrame(0, Buffer.from([0, 0x0a, 0x0d, 0x11, 0x13, 0x03]));
  const b = encodeFrame(1, Buffer.from('second'));
  const c = encodeFrame(2, Buffer.from('third'));
  const frameOf = (wire: Buffer) => ({ frame: wire.subarray(1, -1).toString('hex') });

  it('hands frames and text lines out in order, wherever the stream is cut', () => {
    const stream = Buffer.concat([a, b, Buffer.from('END\n'), c, Buffer.from('cancel\r\n')]);
    const expected = [frameOf(a), frameOf(b), { line: 'END' }, frameOf(c), { line: 'cancel' }];
    fc.assert(fc.property(fc.array(fc.nat(stream.length), { maxLength: 12 }), (cuts) => {
      const at = [0, ...cuts.sort((x, y) => x - y), stream.length];
      assert.deepEqual(run(framesOn(), at.slice(1).map((end, i) => stream.subarray(at[i], end))), expected);
    }), params);
  });

  it('falls back into step after a lost closing or opening delimiter, losing one frame', () => {
    const lostClose = Buffer.concat([a.subarray(0, -1), b, c]);
    assert.deepEqual(run(framesOn(), [lostClose]), [frameOf(a), frameOf(c)]);
    const lostOpen = Buffer.concat([a, b.subarray(1), c]);
    assert.deepEqual(run(framesOn(), [lostOpen]), [frameOf(a), frameOf(c)]);
  });

  it('drops noise before a frame, and a frame longer than the bound, reporting the latter once and reading the rest as noise', () => {
    assert.deepEqual(run(framesOn(), [Buffer.from('noi'), a, Buffer.from('END\n')]), [frameOf(a), { line: 'END' }]);
    const long = Buffer.concat([Buffer.of(0), Buffer.alloc(MAX_FRAME_BYTES + 1, 0x41), Buffer.of(0)]);
    assert.deepEqual(run(framesOn(), [long, b]), [{ error: 'ABU_ERR_SERIAL_LINE_TOO_LONG' }, frameOf(b)]);
  });

  it('is the plain line splitter with frames off, and finishes an open frame when they are turned off', () => {
    const off = new ConsoleSplitter(new LineSplitter());
    assert.deepEqual(run(off, [Buffer.from([0x73, 0, 0x0a])]), [{ error: 'ABU_ERR_SERIAL_GARBAGE' }]);
    const s = framesOn();
    assert.deepEqual(run(s, [a.subarray(0, 4)]), []);
    s.frames = false;
    assert.deepEqual(run(s, [a.subarray(4), Buffer.from('status\n')]), [frameOf(a), { line: 'status' }]);
  });

  it('after an upload, splits frames until the next text line, then is the line splitter again', () => {
    const s = framesOn();
    s.framesUntilNextLine();
    assert.deepEqual(run(s, [b, c, Buffer.from('status\n'), Buffer.from([0x73, 0, 0x0a])]), [frameOf(b), frameOf(c), { line: 'status' }, { error: 'ABU_ERR_SERIAL_GARBAGE' }]);
  });
});
