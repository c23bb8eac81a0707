// The replica store seam: bundles kept content-addressed by one member (complete and verified, or partial).
import type { Readable } from 'node:stream';
import type { ReplicaState } from './member-client';
import type { FollowedReplica, FollowOptions } from './replica-follow';
import type { ReplicaMeta } from './replica-verify';

export type { ReplicaMeta } from './replica-verify';

/**
 * Bundles by SHA-256 of the whole file. A bundle counts as stored only once this member verified it itself;
 * partial transfers are kept so a sender can resume where the bytes stopped. Every method that adds bytes
 * refuses with ABU_ERR_SITE_BUDGET when the store would exceed its byte budget.
 */
export interface ReplicaStore {
  /** Verified bundles, oldest first. */
  list(): Promise<ReplicaMeta[]>;
  get(sha256: string): Promise<ReplicaMeta | null>;
  /** Path of a verified bundle's file; ABU_ERR_SITE_REPLICA_MISSING when there is none. */
  fileOf(sha256: string): Promise<string>;
  state(sha256: string): Promise<ReplicaState>;
  /**
   * Appends bytes [offset, size) of bundle `sha256`: ABU_ERR_SITE_RANGE (details.have) unless `offset` is what
   * the partial file holds. Once complete the bundle is verified (content address, site keyring, product, every
   * chunk); a bundle that fails is deleted and its error thrown, so the sender starts again from zero.
   * `beforeCommit` runs after that verification passed and before the bundle counts: when it throws, the bytes
   * are deleted as for a failed verification (a fetching member waits there for its source's own verdict).
   */
  receive(sha256: string, size: number, offset: number, body: Readable, beforeCommit?: () => Promise<void>): Promise<ReplicaState>;
  /**
   * Serves bytes [offset, size) of a replica this member holds or is still receiving (see FollowedReplica): a
   * member fetching from this one gets the bytes as they arrive here. ABU_ERR_SITE_REPLICA_MISSING when none
   * appears within `o.appearWithinMs`, ABU_ERR_SITE_RANGE when `offset` is past its size.
   */
  follow(sha256: string, offset: number, o: FollowOptions): Promise<FollowedReplica>;
  /** Stores an upload: hashed while it streams, then verified like a replica; returns the stored bundle. */
  add(body: Readable): Promise<ReplicaMeta>;
  /**
   * Stores an upload whose SHA-256 and size the client announced, written where members can pull it while it
   * still arrives: `checked` is called once its head passed (abu bundle, site keyring, product), never before.
   * The full check follows as for add(), plus the announced id; on any failure (that check, a short or broken
   * body, the budget) its bytes are deleted, which tells its pullers to discard theirs, and the error is thrown.
   */
  addAnnounced(sha256: string, size: number, body: Readable, checked: (head: ReplicaMeta) => void): Promise<ReplicaMeta>;
  /** Deletes a bundle and any partial transfer of it; false when there was neither. */
  remove(sha256: string): Promise<boolean>;
  /**
   * At a daemon's start, before any transfer: deletes what a killed process left that nothing can resume (an
   * announced upload's partial file, an unannounced upload's temporary file, files orphaned between two steps of a
   * removal or a commit) and returns the SHA-256 of each interrupted announced upload. A partial replica received
   * from a source stays: its next pull resumes it with Range.
   */
  recover(): Promise<string[]>;
  /** Bytes held (complete and partial files). */
  used(): Promise<number>;
}
