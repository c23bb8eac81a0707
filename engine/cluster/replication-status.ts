// Replication progress records: per bundle and member, bytes, state and error, summed up as "Replications n/m".

export type ReplicationState = 'pending' | 'transferring' | 'verified' | 'failed';

export interface MemberReplication {
  member: string;
  dataCenter: string;
  /** The member the bytes come from: the coordinator for a data center's primary, that primary for the others. */
  via: string;
  state: ReplicationState;
  /** Bytes the member holds, as it last said (polled while it fetches). */
  have: number;
  size: number;
  attempts: number;
  /** Bytes the member fetched over the wire, all attempts together. */
  bytesSent: number;
  /** Offset each attempt started at: a resumed transfer starts above 0. */
  startedAt: number[];
  error: string | null;
}

export interface BundleReplication {
  sha256: string;
  version: string;
  size: number;
  verified: number;
  total: number;
  /** "4/6": members holding a replica they verified themselves, of all members. */
  replications: string;
  members: MemberReplication[];
}

export function summarize(sha256: string, version: string, size: number, members: MemberReplication[]): BundleReplication {
  const verified = members.filter((m) => m.state === 'verified').length;
  return { sha256, version, size, verified, total: members.length, replications: `${verified}/${members.length}`, members: members.map((m) => ({ ...m, startedAt: [...m.startedAt] })) };
}

export function newRecord(member: string, dataCenter: string, via: string, size: number): MemberReplication {
  return { member, dataCenter, via, state: 'pending', have: 0, size, attempts: 0, bytesSent: 0, startedAt: [], error: null };
}
