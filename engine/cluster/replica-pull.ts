// A member fetches its replica from its source (Site.sourceOf), resuming from the bytes it holds, and verifies it itself.
import { AbuError, isAbuError } from '../core/errors';
import type { MemberClient, PullResult } from './member-client';
import type { ReplicaStore } from './replica-store';

/**
 * Fetches bytes [held, size) of a bundle from `source` while the source may itself still be receiving them, and
 * stores them; the store verifies the complete replica (content address, signatures, every chunk) before it counts.
 * A broken transfer keeps the bytes that arrived (the next pull resumes with Range); a source that discarded its
 * own copy (failed verification, removed) makes this member discard what it fetched from that copy, complete and
 * self-verified or not (ABU_ERR_SITE_SOURCE_DISCARDED is thrown, to fetch again).
 */
export async function pullReplica(store: ReplicaStore, sha256: string, size: number, source: MemberClient): Promise<PullResult> {
  const held = await store.state(sha256);
  if (held.state === 'verified') return { offset: held.have, received: 0, state: held };
  // A partial of another announced size cannot be continued: the store starts it over at 0.
  const offset = held.state === 'partial' && held.size === size ? held.have : 0;
  const fetch = await source.fetchReplica(sha256, offset);
  if (fetch.size !== size) {
    fetch.body.destroy();
    throw new AbuError('ABU_ERR_SITE_RANGE', `${source.member.name} holds a ${fetch.size}-byte bundle under this id, not the ${size} bytes the coordinator announced`, { details: { size: fetch.size } });
  }
  // This member verifies the whole replica itself while its source verifies its own copy; the replica counts only
  // if both pass. A source that went away after sending every byte leaves this member's own verification to decide.
  const sourceVerdict = () => fetch.outcome.catch((e) => {
    if (isAbuError(e, 'ABU_ERR_SITE_SOURCE_DISCARDED')) throw e;
  });
  try {
    const state = await store.receive(sha256, size, offset, fetch.body, sourceVerdict);
    return { offset, received: state.have - offset, state };
  } catch (e) {
    // The body errors with the source's discard while bytes were still coming: what came from that copy goes too.
    if (isAbuError(e, 'ABU_ERR_SITE_SOURCE_DISCARDED') && (await store.state(sha256)).state !== 'verified') await store.remove(sha256);
    throw e;
  }
}
