// After a coordinator's restart: members drop what they pulled of an announced upload that the coordinator's crash cut off.
import type { MemberClient } from './member-client';
import type { SiteMember } from './site';

export interface LeftoverOptions {
  members: SiteMember[];
  clientOf(m: SiteMember): MemberClient;
  /** True once the bundle is being uploaded or replicated again: its members' bytes are then a valid start (Range). */
  active(sha256: string): boolean;
  retryBaseMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  signal: AbortSignal;
}

/**
 * The coordinator's crash is the upload's failure, found late: as for an upload that fails its check, the members
 * that pulled it discard their partial replicas, which nothing resumes and which count against their byte budget.
 * Only partial replicas go (a replica a member verified itself stays), and a member that does not answer is asked
 * again with backoff. A new upload of the same bundle stops this: its pulls resume from those bytes instead.
 */
export async function discardInterruptedUploads(shas: string[], o: LeftoverOptions): Promise<void> {
  await Promise.all(shas.flatMap((sha) => o.members.map((m) => discardOn(sha, m, o))));
}

async function discardOn(sha256: string, m: SiteMember, o: LeftoverOptions): Promise<void> {
  const client = o.clientOf(m);
  for (let attempt = 1; attempt <= o.maxAttempts && !o.signal.aborted && !o.active(sha256); attempt++) {
    try {
      if ((await client.replica(sha256)).state === 'partial' && !o.active(sha256)) await client.removeReplica(sha256);
      return;
    } catch {
      await sleep(Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** (attempt - 1)), o.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
