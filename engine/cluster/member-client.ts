// The seam between the coordinator and one member: every call the site layer makes to a member's `abu serve`.
import type { Readable } from 'node:stream';
import type { ActivateResult, ApplianceStatus, HistoryEntry, InstallResult } from '../facade';
import type { SiteMember } from './site';

/** What a member holds of one bundle, in its own words (a replica counts only once the member verified it). */
export interface ReplicaState {
  sha256: string;
  state: 'absent' | 'partial' | 'verified';
  /** Bytes the member holds (of the partial file, or the whole bundle once verified). */
  have: number;
  /** Total size, when the member knows it (announced by the sender, or of its verified replica). */
  size: number | null;
}

/** One push of a replica: where it (re)started and how many bytes went over the wire. */
export interface PushResult {
  offset: number;
  sent: number;
  state: ReplicaState;
}

/**
 * Calls to one member. Errors: the member's own AbuError (same code, details.member set) when it answered with
 * one, ABU_ERR_SITE_MEMBER_UNREACHABLE when it did not answer (down, rebooting, connection cut).
 */
export interface MemberClient {
  readonly member: SiteMember;
  status(): Promise<ApplianceStatus>;
  history(limit?: number): Promise<HistoryEntry[]>;
  replica(sha256: string): Promise<ReplicaState>;
  /**
   * Sends bytes [offset, size) of a bundle; the member appends them to what it holds and verifies the bundle
   * itself once complete. ABU_ERR_SITE_RANGE when `offset` is not what it holds.
   */
  sendReplica(sha256: string, size: number, offset: number, body: Readable): Promise<ReplicaState>;
  removeReplica(sha256: string): Promise<void>;
  /** Asks a data center's primary to push its verified replica to `to` (a member of its data center). */
  forward(sha256: string, to: string): Promise<PushResult>;
  /** The member installs from its own verified replica under its own version policy. */
  installReplica(sha256: string, options: { activate: boolean; acceptIrreversible?: boolean }): Promise<InstallResult>;
  activate(target: 'other' | string, options?: { acceptIrreversible?: boolean }): Promise<ActivateResult>;
  /** Answers before the member goes down. */
  reboot(): Promise<void>;
}

export type MemberClientFactory = (member: SiteMember) => MemberClient;
