// The coordination seam: the rollout journal and the HA reboot slots, kept together so both outlive the coordinator.
// Two implementations: a local journal file on the coordinator (local-coordination-store.ts, the default) and etcd
// (etcd-coordination-store.ts, as airlock keeps FleetLock semaphores), so a rollout also survives the loss of the
// coordinator's own node.

export type MemberPhase = 'waiting' | 'downloading' | 'installing' | 'rebooting' | 'healthy' | 'failed' | 'skipped';

export interface RolloutMember {
  name: string;
  phase: MemberPhase;
  /** The version the member must boot for this step to count (the bundle's, or its alternate image's on switch back). */
  target: string | null;
  /** One line for the operator: what happens now, or why it failed. */
  detail: string;
  /** Percent of the current phase when known (download). */
  percent: number | null;
  /** When the reboot was asked for: a member that is up with its activation still pending long after never rebooted. */
  rebootAskedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Rollout {
  id: string;
  kind: 'activate' | 'switch-back';
  sha256: string | null;
  version: string | null;
  /** HA mode: a member reboots only while it holds its HA group's reboot slot. */
  ha: boolean;
  acceptIrreversible: boolean;
  /** 'stopping': a member failed; members already in flight finish, nobody else starts; then 'failed'. */
  state: 'running' | 'stopping' | 'succeeded' | 'failed';
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  /** The coordinator first, then the others in the order they may start. */
  order: string[];
  members: Record<string, RolloutMember>;
}

/**
 * Journal: `save` replaces the whole rollout atomically (a crash leaves the old or the new one, never a mix).
 * Reboot slots follow FleetLock: `acquire` before a member goes down (idempotent per holder; false while the
 * group's slots are all held by others), `release` once it is back healthy (idempotent).
 */
export interface CoordinationStore {
  loadRollout(): Promise<Rollout | null>;
  saveRollout(rollout: Rollout): Promise<void>;
  acquireRebootSlot(group: string, holder: string, capacity?: number): Promise<boolean>;
  releaseRebootSlot(group: string, holder: string): Promise<void>;
  /** Holders per group. */
  rebootSlots(): Promise<Record<string, string[]>>;
  /** Lets go of connections (etcd); the stored state stays. */
  close?(): Promise<void>;
}
