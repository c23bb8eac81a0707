// Serves GET /api/site/peer/replicas/:sha/content: a replica this member holds or still receives, from a Range start.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AbuError, isAbuError } from '../../core/errors';
import { faultPoint } from '../../core/fault-point';
import { RateLimit } from '../../cluster/rate-limit';
import { REASON_TRAILER, STATE_TRAILER } from '../../cluster/replica-fetch-response';
import type { ReplicaStore } from '../../cluster/replica-store';
import { ServeBudget } from './serve-budget';

/** How long a fetch waits for a replica that has not begun arriving here (this member's own fetch is starting). */
const APPEAR_WITHIN_MS = 30_000;
const PIECE_BYTES = 1024 * 1024;
/** Bytes queued on the socket before the next read waits: reading the next piece overlaps sending this one. */
const QUEUED_BYTES = 4 * 1024 * 1024;
/** Every fetch this process serves shares one budget (piece size and queued bytes). */
const budget = new ServeBudget();

/**
 * Chunked 206 response: the bytes held now, then more as they arrive, ended with a trailer carrying this member's
 * verdict on its own copy ("verified", or "discarded" when its verification failed or the bundle was removed).
 * Errors before the first byte (no replica, bad Range) are answered as JSON like any other call.
 */
export async function serveReplica(req: FastifyRequest<{ Params: { sha: string } }>, reply: FastifyReply, store: ReplicaStore, maxBytesPerSecond: number | null, caller: string): Promise<void> {
  const offset = rangeStart(req.headers.range);
  const stop = new AbortController();
  reply.raw.once('close', () => stop.abort(new AbuError('ABU_ERR_CANCELLED', `${caller} closed the fetch`)));
  const pace = new RateLimit(maxBytesPerSecond);
  const leave = budget.enter();
  reply.raw.once('close', leave);
  const pieceBytes = pace.pieceBytes(budget.share(PIECE_BYTES));
  const pool = new PiecePool(pieceBytes);
  const followed = await store.follow(req.params.sha, offset, { appearWithinMs: APPEAR_WITHIN_MS, pieceBytes, allocate: () => pool.take(), signal: stop.signal }).catch((e: unknown) => {
    leave();
    throw e;
  });
  reply.hijack();
  const res = reply.raw;
  res.writeHead(206, { 'content-type': 'application/octet-stream', 'content-range': `bytes ${offset}-${followed.size - 1}/${followed.size}`, trailer: `${STATE_TRAILER}, ${REASON_TRAILER}` });
  try {
    for await (const piece of followed.bytes) {
      await pace.take(piece.length);
      // The piece's buffer is read into again only once the socket took it (a fetch of 256 MiB allocated 256
      // buffers of 1 MiB, whose external memory made the source's V8 run a full GC every 64 MiB).
      res.write(piece, () => pool.give(piece));
      faultPoint('replication.send-mid-transfer');
      if (res.writableLength > budget.share(QUEUED_BYTES)) await drained(res, stop.signal);
    }
    res.addTrailers({ [STATE_TRAILER]: 'verified' });
  } catch (e) {
    if (stop.signal.aborted) return void res.destroy();
    if (!isAbuError(e, 'ABU_ERR_SITE_SOURCE_DISCARDED')) return void res.destroy(e as Error);
    res.addTrailers({ [STATE_TRAILER]: 'discarded', [REASON_TRAILER]: encodeURIComponent((e as Error).message) });
  } finally {
    leave();
  }
  res.end();
}

function drained(res: NodeJS.WritableStream, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    res.once('drain', () => (signal.removeEventListener('abort', onAbort), resolve()));
  });
}

/** "bytes=N-" (the only form a fetching member sends); no Range is byte 0. */
function rangeStart(range: string | undefined): number {
  if (range === undefined) return 0;
  const m = /^bytes=(\d+)-$/.exec(range.trim());
  if (!m) throw new AbuError('ABU_ERR_USAGE', `a replica fetch takes "Range: bytes=START-", not ${JSON.stringify(range.slice(0, 60))}`);
  return Number(m[1]);
}

/** Buffers of one size, reused once written; at most as many as are in flight (QUEUED_BYTES / size + 1). */
class PiecePool {
  private readonly free: Buffer[] = [];

  constructor(private readonly size: number) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** `piece` is a view at the start of a buffer from take(). */
  give(piece: Buffer): void {
    this.free.push(Buffer.from(piece.buffer, piece.byteOffset, this.size));
  }
}
