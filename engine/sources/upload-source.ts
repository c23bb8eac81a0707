// An HTTP request body as a bundle source: streamed straight through, bounded by the slot size, no temp file.
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { AbuError } from '../core/errors';
import type { ImageSource, OpenOptions } from './image-source';

/**
 * Read-ahead in pieces (each at most one socket read, 64 KiB): up to 1 MiB, less than SCAVENGE_BYTES
 * (transports/http/scavenger.ts), so a piece outlives at most one paced collection and is never promoted to the old
 * generation, which only a full GC frees. The reading side is in object mode
 * so the bundle reader takes one piece at a time and copies it once, into its chunk buffer; in byte mode each
 * read() concatenated everything buffered into a new buffer of up to 2 MiB first, a second copy and as much
 * again of garbage.
 */
const READ_AHEAD_PIECES = 16;

export interface UploadSourceOptions {
  /** Who sent it, for logs ("upload from 127.0.0.1"). */
  description: string;
  /** Content-Length when the client announced one. */
  sizeHint?: number;
  /** Bytes accepted at most: the body may not be larger than what the slot can take. */
  maxBytes: number;
}

/**
 * Wraps a request body. The body is consumed once; a body larger than `maxBytes` or a client that
 * stops sending halfway makes the stream error (never end quietly), so nothing half-written is activated.
 */
export class UploadSource implements ImageSource {
  readonly description: string;
  readonly sizeHint?: number;
  private opened = false;

  constructor(private readonly body: Readable, private readonly options: UploadSourceOptions) {
    this.description = options.description;
    this.sizeHint = options.sizeHint;
  }

  async open(_signal?: AbortSignal, options: OpenOptions = {}): Promise<Readable> {
    if (this.opened) throw new AbuError('ABU_ERR_INTERNAL', `${this.description}: an upload can be read only once`);
    this.opened = true;
    if (this.sizeHint !== undefined && this.sizeHint > this.options.maxBytes) throw tooLarge(this.sizeHint, this.options.maxBytes);
    const limiter = new ByteLimit(this.options.maxBytes, this.sizeHint, options.onReceived);
    this.body.on('aborted', () => limiter.destroy(clientGone(this.description, limiter.seen)));
    this.body.on('error', (e) => limiter.destroy(clientGone(this.description, limiter.seen, e)));
    // 'close' without 'end' is how a dropped connection shows on an IncomingMessage.
    this.body.on('close', () => {
      if (!this.body.readableEnded && !limiter.destroyed) limiter.destroy(clientGone(this.description, limiter.seen));
    });
    return this.body.pipe(limiter);
  }
}

/** Counts bytes and fails as soon as the body exceeds the limit or the announced length. */
export class ByteLimit extends Transform {
  seen = 0;

  constructor(private readonly maxBytes: number, private readonly announced?: number, private readonly onReceived?: (bytes: number) => void) {
    // A few MiB of read-ahead lets the network keep arriving while the installer hashes and writes a chunk.
    super({ readableObjectMode: true, readableHighWaterMark: READ_AHEAD_PIECES });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    this.onReceived?.(chunk.length);
    if (this.seen > this.maxBytes) return done(tooLarge(this.seen, this.maxBytes));
    if (this.announced !== undefined && this.seen > this.announced) {
      return done(new AbuError('ABU_ERR_SOURCE', `the source sent more than the ${this.announced} bytes it announced`, { details: { announced: this.announced } }));
    }
    done(null, chunk);
  }
}

export function tooLarge(size: number, maxBytes: number): AbuError {
  return new AbuError('ABU_ERR_IMAGE_TOO_LARGE', `the bundle is larger than the alternate slot can take (${size} > ${maxBytes} bytes)`, {
    details: { size, limit: maxBytes },
  });
}

function clientGone(description: string, seen: number, cause?: unknown): AbuError {
  return new AbuError('ABU_ERR_SOURCE', `${description}: the client stopped sending after ${seen} bytes`, { cause, details: { bytesReceived: seen } });
}
