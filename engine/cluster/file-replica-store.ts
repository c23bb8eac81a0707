// ReplicaStore in <stateDir>/bundles/: <sha>.abu + <sha>.json when verified, <sha>.part + <sha>.part.json while arriving.
import { faultPoint } from '../core/fault-point';
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AbuError } from '../core/errors';
import { writeFileAtomic } from '../state/atomic-file';
import type { ReplicaState } from './member-client';
import { followReplica, type FollowedReplica, type FollowOptions } from './replica-follow';
import type { ReplicaStore } from './replica-store';
import { digestingStream, verifyBundleFile, verifyHead, type ReplicaMeta, type VerifyOptions } from './replica-verify';

const SHA = /^[0-9a-f]{64}$/;

export class FileReplicaStore implements ReplicaStore {
  /** Bundles being received or uploaded right now: one writer per bundle. */
  private readonly busy = new Set<string>();

  constructor(readonly dir: string, private readonly budgetBytes: number, private readonly verify: Omit<VerifyOptions, 'sha256'>) {}

  async list(): Promise<ReplicaMeta[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const metas = await Promise.all(names.filter((n) => /^[0-9a-f]{64}\.json$/.test(n)).map((n) => this.get(n.slice(0, 64))));
    return metas.filter((m): m is ReplicaMeta => m !== null).sort((a, b) => a.storedAt.localeCompare(b.storedAt));
  }

  async get(sha256: string): Promise<ReplicaMeta | null> {
    checkSha(sha256);
    const text = await fs.readFile(this.file(sha256, 'json'), 'utf8').catch(() => null);
    if (text === null) return null;
    const exists = await fs.stat(this.file(sha256, 'abu')).then(() => true, () => false);
    return exists ? (JSON.parse(text) as ReplicaMeta) : null;
  }

  async fileOf(sha256: string): Promise<string> {
    if (!(await this.get(sha256))) throw new AbuError('ABU_ERR_SITE_REPLICA_MISSING', `no verified replica of bundle ${sha256.slice(0, 16)}… here`, { details: { sha256 } });
    return this.file(sha256, 'abu');
  }

  async state(sha256: string): Promise<ReplicaState> {
    const meta = await this.get(sha256);
    if (meta) return { sha256, state: 'verified', have: meta.size, size: meta.size };
    const part = await this.partInfo(sha256);
    return part ? { sha256, state: 'partial', have: part.have, size: part.size } : { sha256, state: 'absent', have: 0, size: null };
  }

  async receive(sha256: string, size: number, offset: number, body: Readable, beforeCommit?: () => Promise<void>): Promise<ReplicaState> {
    checkSha(sha256);
    const current = await this.state(sha256);
    if (current.state === 'verified') return current;
    return this.exclusive(sha256, async () => {
      let part = await this.partInfo(sha256);
      // A partial file announced with another size is from an older attempt that cannot be continued.
      if (part && part.size !== size) part = (await this.dropPart(sha256), null);
      const have = part?.have ?? 0;
      if (offset !== have) throw new AbuError('ABU_ERR_SITE_RANGE', `resume at byte ${offset} refused: this member holds ${have} bytes of the bundle`, { details: { have, size } });
      await this.checkBudget(size - have, sha256);
      if (!part) await writeFileAtomic(this.file(sha256, 'part.json'), JSON.stringify({ size }) + '\n');
      // A transfer from byte 0 is hashed as it is written; a resumed one is hashed from the file once complete.
      const digest = offset === 0 ? digestingStream() : null;
      const write = createWriteStream(this.file(sha256, 'part'), { flags: 'a' });
      const first = this.firstByte(sha256, size, part?.firstByteAt);
      try {
        await pipeline(body, capAt(size - offset), first.stream, digest ?? new PassThrough(), write);
      } finally {
        await first.noted;
      }
      const now = await this.partInfo(sha256);
      // Removed while it arrived (the bundle was deleted site-wide): the bytes written went with it.
      if (!now) throw new AbuError('ABU_ERR_CANCELLED', `bundle ${sha256.slice(0, 16)}… was removed from this member while it arrived`);
      if (now.have < size) return { sha256, state: 'partial', have: now.have, size };
      return this.complete(sha256, digest?.digest(), beforeCommit);
    });
  }

  follow(sha256: string, offset: number, o: FollowOptions): Promise<FollowedReplica> {
    checkSha(sha256);
    const files = { part: this.file(sha256, 'part'), partMeta: this.file(sha256, 'part.json'), abu: this.file(sha256, 'abu'), verified: async () => (await this.get(sha256)) !== null };
    return followReplica(files, sha256, offset, o);
  }

  async add(body: Readable): Promise<ReplicaMeta> {
    await fs.mkdir(this.dir, { recursive: true });
    const tmp = path.join(this.dir, `.upload-${randomBytes(6).toString('hex')}`);
    try {
      const room = this.budgetBytes - (await this.used());
      const digest = digestingStream();
      await pipeline(body, capAt(room, true), digest, createWriteStream(tmp));
      const meta = await verifyBundleFile(tmp, { ...this.verify, written: digest.digest() });
      if (await this.get(meta.sha256)) return (await this.get(meta.sha256))!;
      await fs.rename(tmp, this.file(meta.sha256, 'abu'));
      await writeFileAtomic(this.file(meta.sha256, 'json'), JSON.stringify(meta, null, 2) + '\n');
      return meta;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async addAnnounced(sha256: string, size: number, body: Readable, checked: (head: ReplicaMeta) => void): Promise<ReplicaMeta> {
    checkSha(sha256);
    // Already stored: the upload is checked in full as any other, and the stored bundle stays whatever it holds.
    if (await this.get(sha256)) return this.add(body);
    return this.exclusive(sha256, async () => {
      await this.dropPart(sha256); // an earlier upload's bytes, left by a crash: this upload starts from zero
      await this.checkBudget(size, sha256);
      // `upload`: these bytes come from a client, not a source; nothing can resume them after a crash (recover()).
      await writeFileAtomic(this.file(sha256, 'part.json'), JSON.stringify({ size, upload: true }) + '\n');
      // The head is read from the growing file while the body arrives; once the body is in, complete() checks it all.
      const stop = new AbortController();
      const arrived = new AbuError('ABU_ERR_CANCELLED', 'the upload arrived before its head was checked');
      const head = this.checkHead(sha256, size, stop.signal).then(checked, (e: unknown) => (stop.signal.reason === arrived ? undefined : Promise.reject(e)));
      void head.catch(() => undefined); // awaited below, once the body is in
      const digest = digestingStream();
      try {
        // A head that fails is answered once the body is in (the client reads a clean refusal, as for add()).
        await pipeline(body, capAt(size, false, false), digest, createWriteStream(this.file(sha256, 'part'))).finally(() => stop.abort(arrived));
        await head;
        const written = digest.digest();
        if (written.size < size) throw new AbuError('ABU_ERR_BUNDLE_TRUNCATED', `the upload ended after ${written.size} of the ${size} bytes announced`, { details: { have: written.size, size } });
        await this.complete(sha256, written); // drops the part itself when the full check fails
        return (await this.get(sha256))!;
      } catch (e) {
        await head.catch(() => undefined);
        // Removing the partial file is the verdict its pullers read: "discarded" (replica-follow.ts).
        await this.dropPart(sha256);
        throw e;
      }
    });
  }

  async remove(sha256: string): Promise<boolean> {
    checkSha(sha256);
    const had = (await this.state(sha256)).state !== 'absent';
    // The metadata goes first: a bundle without it is no longer listed, even if a crash leaves its file behind.
    for (const ext of ['json', 'abu', 'part.json', 'part']) await fs.rm(this.file(sha256, ext), { force: true });
    return had;
  }

  async recover(): Promise<string[]> {
    const names = new Set(await fs.readdir(this.dir).catch(() => [] as string[]));
    const gone: string[] = [];
    for (const n of names) {
      const sha = n.slice(0, 64);
      if (!n.startsWith('.upload-') && !SHA.test(sha)) continue;
      if (n.startsWith('.upload-')) await fs.rm(path.join(this.dir, n), { force: true });
      // Orphans of a crash between two steps of remove(), dropPart() or complete(): no writer resumes them.
      else if (n.endsWith('.part') && !names.has(`${sha}.part.json`)) await fs.rm(path.join(this.dir, n), { force: true });
      else if (n.endsWith('.abu') && !names.has(`${sha}.json`)) await fs.rm(path.join(this.dir, n), { force: true });
      else if (n.endsWith('.part.json') && (await this.interruptedUpload(sha))) gone.push((await this.dropPart(sha), sha));
    }
    return gone;
  }

  async used(): Promise<number> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const sizes = await Promise.all(names.filter((n) => /\.(abu|part)$/.test(n) || n.startsWith('.upload-')).map((n) => fs.stat(path.join(this.dir, n)).then((s) => s.size, () => 0)));
    return sizes.reduce((a, b) => a + b, 0);
  }

  /** The complete partial file is verified by this member; only then does it become the replica. */
  private async complete(sha256: string, written: { sha256: string; size: number } | undefined, beforeCommit?: () => Promise<void>): Promise<ReplicaState> {
    let meta: ReplicaMeta;
    try {
      const since = (await this.partInfo(sha256))?.firstByteAt;
      meta = { ...(await verifyBundleFile(this.file(sha256, 'part'), { ...this.verify, sha256, written })), ...(since ? { receivingSince: since } : {}) };
      faultPoint('replication.after-verify');
      await beforeCommit?.();
    } catch (e) {
      await this.dropPart(sha256);
      throw e;
    }
    await fs.rename(this.file(sha256, 'part'), this.file(sha256, 'abu'));
    await writeFileAtomic(this.file(sha256, 'json'), JSON.stringify(meta, null, 2) + '\n');
    await fs.rm(this.file(sha256, 'part.json'), { force: true });
    return { sha256, state: 'verified', have: meta.size, size: meta.size };
  }

  /** Reads the upload's head from its growing partial file as it arrives (verifyHead). */
  private async checkHead(sha256: string, size: number, signal: AbortSignal): Promise<ReplicaMeta> {
    const followed = await this.follow(sha256, 0, { appearWithinMs: 30_000, pieceBytes: 64 * 1024, signal });
    const stream = Readable.from(followed.bytes, { objectMode: false });
    try {
      return await verifyHead(stream, { ...this.verify, sha256, size });
    } finally {
      stream.destroy();
    }
  }

  private async checkBudget(need: number, sha256: string): Promise<void> {
    const used = await this.used();
    if (used + need > this.budgetBytes) {
      throw new AbuError('ABU_ERR_SITE_BUDGET', `bundle ${sha256.slice(0, 16)}… needs ${need} more bytes; the bundle store holds ${used} of its ${this.budgetBytes}-byte budget`, { details: { budget: this.budgetBytes, used, need } });
    }
  }

  private async partInfo(sha256: string): Promise<{ have: number; size: number; firstByteAt?: string } | null> {
    const text = await fs.readFile(this.file(sha256, 'part.json'), 'utf8').catch(() => null);
    if (text === null) return null;
    const have = await fs.stat(this.file(sha256, 'part')).then((s) => s.size, () => 0);
    const { size, firstByteAt } = JSON.parse(text) as { size: number; firstByteAt?: string };
    return { have, size, firstByteAt };
  }

  /**
   * Notes when the first byte of a partial file arrived (a replica's own record that it was received while its
   * source still was), without holding the bytes back while the note is written; `noted` once it is (never rejects).
   */
  private firstByte(sha256: string, size: number, known: string | undefined): { stream: Transform; noted: Promise<void> } {
    let noted: Promise<void> = Promise.resolve();
    let first = known === undefined;
    const note = { size, firstByteAt: '' };
    const stream = new Transform({
      transform: (piece: Buffer, _enc, done) => {
        if (first && piece.length > 0) {
          first = false;
          note.firstByteAt = new Date().toISOString();
          noted = writeFileAtomic(this.file(sha256, 'part.json'), JSON.stringify(note) + '\n').catch(() => undefined);
        }
        done(null, piece);
      },
    });
    return { stream, get noted() { return noted; } };
  }

  /** A partial file written by addAnnounced(): its client is gone, and an upload always starts again from zero. */
  private async interruptedUpload(sha256: string): Promise<boolean> {
    const text = await fs.readFile(this.file(sha256, 'part.json'), 'utf8').catch(() => null);
    return text !== null && (JSON.parse(text) as { upload?: boolean }).upload === true;
  }

  private async dropPart(sha256: string): Promise<void> {
    await fs.rm(this.file(sha256, 'part.json'), { force: true });
    await fs.rm(this.file(sha256, 'part'), { force: true });
  }

  private async exclusive<T>(sha256: string, fn: () => Promise<T>): Promise<T> {
    if (this.busy.has(sha256)) throw new AbuError('ABU_ERR_BUSY', `bundle ${sha256.slice(0, 16)}… is already being received; try again when that transfer ends`);
    this.busy.add(sha256);
    try {
      await fs.mkdir(this.dir, { recursive: true });
      return await fn();
    } finally {
      this.busy.delete(sha256);
    }
  }

  private file(sha256: string, ext: string): string {
    return path.join(this.dir, `${sha256}.${ext}`);
  }
}

function checkSha(sha256: string): void {
  if (!SHA.test(sha256)) throw new AbuError('ABU_ERR_USAGE', `a bundle id is the 64 hex digits of its SHA-256, not ${JSON.stringify(sha256.slice(0, 80))}`);
}

/** Passes at most `limit` bytes; more is a sender error (or, for an upload, the budget running out). */
function capAt(limit: number, budget = false, receiving = !budget): Transform {
  let seen = 0;
  return new Transform({
    transform(piece: Buffer, _enc, done) {
      seen += piece.length;
      // `receiving`: a replica being received from a peer (receive()), not an upload (add(), addAnnounced()).
      if (receiving) faultPoint('replication.receive-mid-transfer');
      if (seen <= limit) return done(null, piece);
      done(budget
        ? new AbuError('ABU_ERR_SITE_BUDGET', `the upload does not fit: the bundle store has ${Math.max(0, limit)} bytes left in its budget`, { details: { left: Math.max(0, limit) } })
        : new AbuError('ABU_ERR_USAGE', `the sender sent more than the ${limit} bytes it announced`));
    },
  });
}
