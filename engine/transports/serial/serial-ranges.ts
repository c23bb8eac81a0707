// The device side of a serial push with ranges: GET lines to the pusher, the bundle head as a stream, chunk ranges as a RangeReader.
import { Readable } from 'node:stream';
import { AbuError } from '../../core/errors';
import { DEFAULT_LIMITS, HEADER_SIZE, MAGIC } from '../../bundle/framing';
import type { RangeCapable, RangeReader } from '../../sources/range-reader';

/**
 * Asks the pusher for `GET <start> <length>` and reads exactly `length` bytes from `inbox`, where the upload puts the
 * blocks that answer it, in order. One range at a time: the pusher cuts its blocks per range, so a block never mixes
 * two ranges, and the next GET goes out only once the previous range was read to its end.
 * Nothing here is trusted: the head is checked by its signatures and every chunk by its signed SHA-256 (adaptive-writer.ts).
 */
export class SerialRangeReader implements RangeReader {
  constructor(private readonly inbox: Readable, private readonly size: number, private readonly ask: (start: number, length: number) => Promise<void>) {}

  async *range(start: number, length: number): AsyncGenerator<Buffer> {
    if (start + length > this.size) {
      throw new AbuError('ABU_ERR_BUNDLE_TRUNCATED', `the manifest places bytes ${start}-${start + length - 1} past the announced ${this.size}-byte bundle`, { details: { start, length, size: this.size } });
    }
    if (length <= 0) return;
    await this.ask(start, length);
    yield* readExactly(this.inbox, length);
  }

  /** The stream the install reads the head from (header, then manifest and signatures as it names them); rangeReader on it. */
  head(): RangeCapable {
    return Object.assign(Readable.from(this.headPieces(), { objectMode: true, highWaterMark: 1 }), { rangeReader: this as RangeReader });
  }

  private async *headPieces(): AsyncGenerator<Buffer> {
    const header = Buffer.concat(await collect(this.range(0, Math.min(HEADER_SIZE, this.size))));
    yield header;
    // A header that is not one: the bundle reader refuses it with its precise code; asking for more would only cost line time.
    if (header.length < HEADER_SIZE || !header.subarray(0, MAGIC.length).equals(MAGIC)) return;
    const rest = header.readUInt32LE(12) + header.readUInt32LE(16);
    // Bounded by the reader's limits: a header over them is refused after these bytes, not after a megabyte more of line.
    yield* this.range(HEADER_SIZE, Math.min(rest, DEFAULT_LIMITS.maxManifestBytes + DEFAULT_LIMITS.maxSignatureBytes, this.size - HEADER_SIZE));
  }
}

async function collect(pieces: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const p of pieces) out.push(p);
  return out;
}

/** Exactly `length` bytes from a paused byte stream, as they arrive; throws the stream's error when it fails first. */
async function* readExactly(stream: Readable, length: number): AsyncGenerator<Buffer> {
  for (let left = length; left > 0;) {
    const piece = stream.readableLength > 0 ? (stream.read(Math.min(left, stream.readableLength)) as Buffer | null) : null;
    if (piece !== null) {
      left -= piece.length;
      yield piece;
      continue;
    }
    if (stream.destroyed || stream.readableEnded) throw stream.errored ?? new AbuError('ABU_ERR_SOURCE', `the serial upload ended ${left} bytes before the end of a range it was asked for`);
    await readable(stream);
  }
}

function readable(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('readable', done).off('close', done).off('error', done);
      resolve();
    };
    stream.on('readable', done).on('close', done).on('error', done);
  });
}
