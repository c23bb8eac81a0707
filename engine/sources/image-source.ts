// The image-source seam: where bundle bytes come from (file, stdin, HTTP, upload, serial).
import type { Readable } from 'node:stream';

/**
 * A source of bundle bytes, read strictly front to back.
 * `open()` may be called once; the stream errors (not ends) when the source fails,
 * and ends early when the source is truncated (the bundle reader reports that).
 */
export interface ImageSource {
  /** Human-readable origin for logs and errors ("file /tmp/x.abu", "http://..."). */
  readonly description: string;
  /** Total size in bytes when known in advance (file size, Content-Length). */
  readonly sizeHint?: number;
  /**
   * `signal` (optional) stops a source that waits for someone else (a server, a client): once it aborts,
   * open() rejects and the stream errors with `signal.reason` (an AbuError keeps its code), promptly,
   * whether the source is connecting, between retries or waiting for bytes. Destroying the returned
   * stream must likewise release whatever it waits on.
   */
  open(signal?: AbortSignal, options?: OpenOptions): Promise<Readable>;
}

export interface OpenOptions {
  /**
   * Adaptive installs: the caller reads only the first `headBytes` from the stream (header, manifest, signatures)
   * and fetches chunks by range. A source that can fetch ranges (HTTP, a serial push granted `ranges`) then asks only
   * for those bytes and puts a `rangeReader` on the stream (see sources/range-reader.ts); any other source ignores this.
   */
  headBytes?: number;
  /**
   * Called with the size of each piece a network source (URL download, its Range answers, an upload) takes
   * from its socket, as it arrives: the daemon paces its collection of spent socket buffers by these bytes.
   * Sources that read no socket ignore it.
   */
  onReceived?: (bytes: number) => void;
}
