// Reads a replica a source may still be receiving: the bytes it holds now, then more as they arrive, until it verified it.
import { promises as fs, type Stats } from 'node:fs';
import { AbuError } from '../core/errors';

/** The files of one bundle in a replica store, and whether its verified metadata is written. */
export interface ReplicaFiles {
  part: string;
  partMeta: string;
  abu: string;
  /** True once the store's metadata of the verified bundle exists (written after the rename of part to abu). */
  verified(): Promise<boolean>;
}

export interface FollowOptions {
  /** How long to wait for a replica that has not started arriving here (the source's own fetch is starting too). */
  appearWithinMs: number;
  /** Largest piece yielded (smaller pieces keep a rate cap smooth). */
  pieceBytes: number;
  /** Where each piece is read into (at least `size` bytes); a fresh buffer per piece without it. */
  allocate?: (size: number) => Buffer;
  signal?: AbortSignal;
}

/** What the source holds: its announced size and a reader from `offset` on. */
export interface FollowedReplica {
  size: number;
  /**
   * Yields bytes [offset, size), waiting while the source is still receiving them, and returns once the source
   * verified its own replica. Throws ABU_ERR_SITE_SOURCE_DISCARDED when the source drops it instead (its own
   * verification failed, or the bundle was removed): the bytes yielded so far must then be discarded too.
   */
  bytes: AsyncGenerator<Buffer>;
}

const POLL_MS = 40;

/** Opens the replica (verified, or partial with its announced size); ABU_ERR_SITE_REPLICA_MISSING if none appears in time. */
export async function followReplica(files: ReplicaFiles, sha256: string, offset: number, o: FollowOptions): Promise<FollowedReplica> {
  const until = Date.now() + o.appearWithinMs;
  for (;;) {
    const opened = await openCurrent(files);
    if (opened) {
      if (offset > opened.size) {
        await opened.fh.close();
        throw new AbuError('ABU_ERR_SITE_RANGE', `a fetch from byte ${offset} of a ${opened.size}-byte bundle`, { details: { size: opened.size } });
      }
      return { size: opened.size, bytes: read(files, opened.fh, opened.ino, offset, opened.size, o) };
    }
    if (Date.now() > until || o.signal?.aborted) {
      throw new AbuError('ABU_ERR_SITE_REPLICA_MISSING', `no replica of bundle ${sha256.slice(0, 16)}… arrived here within ${Math.round(o.appearWithinMs / 1000)} s`, { details: { sha256 } });
    }
    await sleep(POLL_MS * 5);
  }
}

async function openCurrent(files: ReplicaFiles): Promise<{ fh: fs.FileHandle; ino: number; size: number } | null> {
  if (await files.verified()) {
    const fh = await fs.open(files.abu, 'r').catch(() => null);
    if (fh) return { fh, ino: (await fh.stat()).ino, size: (await fh.stat()).size };
  }
  const meta = await fs.readFile(files.partMeta, 'utf8').catch(() => null);
  const fh = meta === null ? null : await fs.open(files.part, 'r').catch(() => null);
  if (!fh) return null;
  return { fh, ino: (await fh.stat()).ino, size: (JSON.parse(meta!) as { size: number }).size };
}

async function* read(files: ReplicaFiles, fh: fs.FileHandle, ino: number, offset: number, size: number, o: FollowOptions): AsyncGenerator<Buffer> {
  try {
    let pos = offset;
    let seen = -1;
    for (;;) {
      if (o.signal?.aborted) throw o.signal.reason;
      const held = (await fh.stat()).size;
      const whole = Math.min(o.pieceBytes, size - pos);
      const want = Math.min(whole, held - pos);
      // While the source's file grows, wait for a whole piece: reading each few KiB as it lands costs the source
      // (which is receiving the same bytes) more than it gains. A file that stopped growing is read as it is.
      if (want > 0 && (want === whole || held === seen)) {
        const buffer = o.allocate ? o.allocate(want) : Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buffer, 0, want, pos);
        if (bytesRead > 0) {
          pos += bytesRead;
          yield buffer.subarray(0, bytesRead);
          continue;
        }
      }
      // Nothing (or too little) new: the source may still be receiving, verifying, done, or have dropped what it had.
      const fate = await fateOf(files, ino);
      if (fate === 'discarded') {
        throw new AbuError('ABU_ERR_SITE_SOURCE_DISCARDED', 'the source dropped its replica (its own verification failed, or the bundle was removed) while this member fetched it');
      }
      if (fate === 'verified' && pos >= size) return;
      seen = held;
      await sleep(POLL_MS);
    }
  } finally {
    await fh.close();
  }
}

/** The file read is still the source's partial file, its verified replica, or neither any more (dropped, replaced). */
async function fateOf(files: ReplicaFiles, ino: number): Promise<'growing' | 'verified' | 'discarded'> {
  const same = (s: Stats | null) => s !== null && s.ino === ino;
  if (same(await fs.stat(files.part).catch(() => null))) return 'growing';
  // After the rename and before the metadata is written the bundle is being made the replica: wait for it.
  if (same(await fs.stat(files.abu).catch(() => null))) return (await files.verified()) ? 'verified' : 'growing';
  return 'discarded';
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
