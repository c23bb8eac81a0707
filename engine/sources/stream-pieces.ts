// A byte stream's pieces one at a time, as they were pushed (no concatenation), with a bounded queue and backpressure.
import type { Readable } from 'node:stream';

/**
 * Why not `for await (const chunk of stream)`: the async iterator of a byte-mode stream calls read() with no size,
 * which concatenates everything buffered into one new Buffer. Behind a busy event loop a socket has buffered
 * several 64 KiB reads by then, so each read() copied them all once more and left both the pieces and the copy
 * as garbage: the daemon's URL installs peaked ~10 MiB above its uploads (which pipe, piece by piece).
 * Here each 'data' piece is handed on as it is; at most `maxQueued` wait, then the stream is paused.
 * Ends like the iterator: returns at 'end', throws the stream's error, and throws ERR_STREAM_PREMATURE_CLOSE
 * when the stream closes without ending; a consumer that stops early destroys it.
 */
export async function* piecesOf(stream: Readable, maxQueued = 16): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  /** Set once by 'end', 'error' or 'close' (in a holder: the listeners assign it, the loop reads it). */
  const end: { outcome: { error?: unknown } | null } = { outcome: null };
  let wake: (() => void) | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  const onData = (piece: Buffer): void => {
    queue.push(piece);
    if (queue.length >= maxQueued) stream.pause();
    notify();
  };
  const onEnd = (): void => void ((end.outcome ??= {}), notify());
  const onError = (error: unknown): void => void ((end.outcome ??= { error }), notify());
  const onClose = (): void => onError(stream.errored ?? Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  stream.on('data', onData).once('end', onEnd).once('error', onError).once('close', onClose);
  try {
    for (;;) {
      const piece = queue.shift();
      if (piece !== undefined) {
        if (stream.isPaused() && queue.length < maxQueued / 2) stream.resume();
        yield piece;
      } else if (end.outcome !== null) {
        if (end.outcome.error !== undefined) throw end.outcome.error;
        return;
      } else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    // As the iterator does: a consumer that stops early (a bound exceeded, a cancel) closes the stream.
    if (end.outcome === null) stream.destroy();
    stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
  }
}
