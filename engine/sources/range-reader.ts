// The byte-range seam of adaptive installs: a source that can fetch parts of the bundle (HTTP Range, the serial console's GET).
import type { Readable } from 'node:stream';

/**
 * Fetches byte ranges of the bundle whose head the install read from the source's stream. Implementations:
 * HttpRangeReader (http-range.ts) and SerialRangeReader (transports/serial/serial-ranges.ts).
 * `range` is called for one range at a time, in ascending order, and consumed to its end unless the install fails;
 * it yields exactly `length` bytes or throws (an AbuError keeps its code; RangeIgnoredError: the source cannot
 * serve ranges after all).
 */
export interface RangeReader {
  range(start: number, length: number): AsyncGenerator<Buffer>;
}

/** A source stream that can also fetch byte ranges of the same bundle (HTTP URLs, serial pushes that grant `ranges`). */
export interface RangeCapable extends Readable {
  rangeReader: RangeReader;
}

export function rangeReaderOf(stream: Readable): RangeReader | null {
  return (stream as Partial<RangeCapable>).rangeReader ?? null;
}

/** The server answered 200 (the whole file) to a Range request: it ignores Range, or the bundle changed. */
export class RangeIgnoredError extends Error {}
