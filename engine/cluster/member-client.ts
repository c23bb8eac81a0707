// The seam between the coordinator and one member: every call the site layer makes to a member's `abu serve`.
import type { Readable } from 'node:stream';
import type { ProgressEvent } from '../core/progress';
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

/** One fetch of a replica by its member: where it (re)started and how many bytes came over the wire. */
export interface PullResult {
  offset: number;
  received: number;
  state: ReplicaState;
}

/** A replica being fetched from a source: bytes [offset, size) as they come, and the source's last word on its own copy. */
export interface ReplicaFetch {
  size: number;
  /** Ends once all bytes [offset, size) arrived (not waiting for the source's verdict); errors when the transfer breaks. */
  body: Readable;
  /**
   * Resolves when the source ended the transfer with its own replica verified; rejects with
   * ABU_ERR_SITE_SOURCE_DISCARDED when the source dropped it, ABU_ERR_SITE_MEMBER_UNREACHABLE when the transfer broke.
   */
  outcome: Promise<void>;
}

/**
 * Calls to one member. Errors: the member's own AbuError (same code, details.member set) when it answered with
 * one, ABU_ERR_SITE_MEMBER_UNREACHABLE when it did not answer (down, rebooting, connection cut).
 */
export interface MemberClient {
  readonly member: SiteMember;
  status(): Promise<ApplianceStatus>;
  /** The member's progress events from now on (its event stream); `ready` once subscribed. */
  watchProgress(onProgress: (e: ProgressEvent) => void): { ready: Promise<void>; stop(): void };
  history(limit?: number): Promise<HistoryEntry[]>;
  replica(sha256: string): Promise<ReplicaState>;
  /**
   * Fetches bytes [offset, size) of a replica the member holds or is still receiving (HTTP GET with Range); the
   * member must be the caller's source (Site.sourceOf). Errors of the member's answer as for any call.
   */
  fetchReplica(sha256: string, offset: number): Promise<ReplicaFetch>;
  /**
   * Asks the member to fetch a bundle of `size` bytes from its own source, resuming from what it holds; resolves
   * once it verified its replica itself (its own errors otherwise: a failed verification, a discarded source, ...).
   */
  pullReplica(sha256: string, size: number): Promise<PullResult>;
  removeReplica(sha256: string): Promise<void>;
  /** The member installs from its own verified replica under its own version policy. */
  installReplica(sha256: string, options: { activate: boolean; acceptIrreversible?: boolean }): Promise<InstallResult>;
  activate(target: 'other' | string, options?: { acceptIrreversible?: boolean }): Promise<ActivateResult>;
  /** Answers before the member goes down. */
  reboot(): Promise<void>;
}

export type MemberClientFactory = (member: SiteMember) => MemberClient;
