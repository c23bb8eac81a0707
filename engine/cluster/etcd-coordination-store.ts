// CoordinationStore on etcd (v3 API, the `etcd3` client): the rollout journal and the HA reboot slots outlive the
// coordinator's own node. Journal: one key written with a compare-and-swap on its mod revision. Reboot slots:
// FleetLock semantics as airlock keeps them in etcd, a semaphore per HA group made of one key per holder.
import { AbuError } from '../core/errors';
import type { EtcdCoordinationConfig } from '../site-config';
import type { CoordinationStore, Rollout } from './coordination-store';

/**
 * The part of the `etcd3` client (its raw KV service) this store uses, declared here so the build does not need the
 * package: it is loaded only when a site names etcd.
 */
interface IKeyValue {
  key: Buffer;
  value: Buffer;
  mod_revision: string;
}
interface IRangeResponse {
  header: { revision: string };
  kvs: IKeyValue[];
}
type Compare = { key: Buffer; range_end?: Buffer; target: 'Mod'; result: 'Equal' | 'Less'; mod_revision: number };
type RequestOp = { request_put: { key: Buffer; value: Buffer } } | { request_range: { key: Buffer } };
interface KV {
  range(req: { key: Buffer; range_end?: Buffer; keys_only?: boolean }): Promise<IRangeResponse>;
  txn(req: { compare: Compare[]; success: RequestOp[]; failure?: RequestOp[] }): Promise<{ succeeded: boolean; header: { revision: string }; responses: { response_range?: IRangeResponse }[] }>;
  deleteRange(req: { key: Buffer }): Promise<unknown>;
}
interface Etcd3 {
  kv: KV;
  close(): void;
}
type Etcd3Module = { Etcd3: new (o: { hosts: string[]; dialTimeout: number; defaultCallOptions: () => { deadline: number } }) => Etcd3 };

export class EtcdCoordinationStore implements CoordinationStore {
  private client: Promise<Etcd3> | null = null;
  /** Mod revision of the journal key as this store last wrote it (or read it before its first write); 0: absent. */
  private revision = 0;
  private wrote = false;
  /**
   * Journals this store sent that etcd has not acknowledged: a write that timed out (no quorum) may still be
   * committed later, and finding one of them stored is this store's own write landing late, not another writer.
   */
  private unacked: string[] = [];
  /** Saves run one after another: each compares against the revision the previous one produced. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly c: EtcdCoordinationConfig) {}

  async loadRollout(): Promise<Rollout | null> {
    const res = await this.call('read the rollout journal', (kv) => kv.range({ key: this.key('rollout') }));
    const kv = res.kvs[0];
    // Once this store has written, only its own writes move the expected revision: a journal changed by anyone
    // else since (a second coordinator) makes its next save fail instead of overwriting what the other wrote.
    if (!this.wrote) this.revision = kv ? Number(kv.mod_revision) : 0;
    return kv ? parseRollout(kv) : null;
  }

  saveRollout(rollout: Rollout): Promise<void> {
    const json = JSON.stringify(rollout);
    const run = this.queue.then(() => this.compareAndSwap(json));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async acquireRebootSlot(group: string, holder: string, capacity = 1): Promise<boolean> {
    const prefix = this.key(`reboot-slots/${group}/`);
    for (let attempt = 0; attempt < 20; attempt++) {
      const held = await this.call('read a reboot slot', (kv) => kv.range({ key: prefix, range_end: rangeEnd(prefix), keys_only: true }));
      const holders = held.kvs.map((k) => k.key.subarray(prefix.length).toString('utf8'));
      if (holders.includes(holder)) return true; // idempotent per holder, as FleetLock's pre-reboot
      if (holders.length >= capacity) return false;
      // Taken only if no key of the group was created or changed since the count was read (a range compare).
      const txn = await this.call('take a reboot slot', (kv) => kv.txn({
        compare: [{ key: prefix, range_end: rangeEnd(prefix), target: 'Mod', result: 'Less', mod_revision: Number(held.header.revision) + 1 }],
        success: [{ request_put: { key: Buffer.concat([prefix, Buffer.from(holder)]), value: Buffer.from(JSON.stringify({ holder, since: new Date().toISOString() })) } }],
      }));
      if (txn.succeeded) return true;
    }
    throw new AbuError('ABU_ERR_COORDINATION_UNAVAILABLE', `etcd: the reboot slot of HA group "${group}" kept changing while ${holder} tried to take it`);
  }

  async releaseRebootSlot(group: string, holder: string): Promise<void> {
    await this.call('release a reboot slot', (kv) => kv.deleteRange({ key: this.key(`reboot-slots/${group}/${holder}`) }));
  }

  async rebootSlots(): Promise<Record<string, string[]>> {
    const prefix = this.key('reboot-slots/');
    const res = await this.call('read the reboot slots', (kv) => kv.range({ key: prefix, range_end: rangeEnd(prefix), keys_only: true }));
    const out: Record<string, string[]> = {};
    for (const k of res.kvs) {
      const [group, holder] = k.key.subarray(prefix.length).toString('utf8').split('/');
      (out[group] ??= []).push(holder);
    }
    return out;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) (await client.catch(() => null))?.close();
  }

  private async compareAndSwap(json: string): Promise<void> {
    const key = this.key('rollout');
    this.unacked.push(json);
    for (;;) {
      const txn = await this.call('write the rollout journal', (kv) => kv.txn({
        compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: this.revision }],
        success: [{ request_put: { key, value: Buffer.from(json) } }],
        failure: [{ request_range: { key } }],
      }));
      const current = txn.succeeded ? undefined : txn.responses[0]?.response_range?.kvs[0];
      const landed = current?.value.toString('utf8');
      if (txn.succeeded || landed === json) {
        this.revision = txn.succeeded ? Number(txn.header.revision) : Number(current!.mod_revision);
        this.wrote = true;
        this.unacked = [];
        return;
      }
      // An earlier write of this store that timed out and was committed after all: compare against it and go on.
      if (landed === undefined || !this.unacked.includes(landed)) return this.conflict(key, current);
      this.revision = Number(current!.mod_revision);
    }
  }

  private conflict(key: Buffer, current: IKeyValue | undefined): never {
    throw new AbuError('ABU_ERR_COORDINATION_CONFLICT', `etcd: the rollout journal ${key.toString('utf8')} was changed by another writer (revision ${current?.mod_revision ?? 'deleted'}, expected ${this.revision}); is a second coordinator running? Restart this one to read the journal again`, {
      details: { key: key.toString('utf8'), expected: this.revision, found: current ? Number(current.mod_revision) : null },
    });
  }

  /**
   * One etcd call, tried again until `timeoutMs` while the cluster cannot answer (a member down, a leader
   * election): the client moves to another endpoint; a rollout must not fail because one etcd member died.
   */
  private async call<T>(what: string, fn: (kv: KV) => Promise<T>): Promise<T> {
    const until = Date.now() + this.c.timeoutMs;
    let delay = 100;
    for (;;) {
      try {
        const client = await this.connect();
        return await fn(client.kv);
      } catch (e) {
        if (e instanceof AbuError || e instanceof TypeError) throw e;
        if (Date.now() + delay > until) {
          throw new AbuError('ABU_ERR_COORDINATION_UNAVAILABLE', `etcd (${this.c.endpoints.join(', ')}) did not answer within ${this.c.timeoutMs} ms to ${what}: ${(e as Error).message}`, { cause: e });
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 1000);
      }
    }
  }

  /** The client is loaded on first use, so members with a local store never load gRPC. */
  private connect(): Promise<Etcd3> {
    this.client ??= Promise.resolve().then(() => new (loadEtcd3().Etcd3)({
      hosts: this.c.endpoints,
      dialTimeout: Math.min(this.c.timeoutMs, 3000),
      // Per call: a member cut off without a reset (a dead link) costs one deadline, then the next endpoint.
      defaultCallOptions: () => ({ deadline: Date.now() + Math.min(this.c.timeoutMs, 3000) }),
    }));
    this.client.catch(() => (this.client = null));
    return this.client;
  }

  private key(suffix: string): Buffer {
    return Buffer.from(this.c.prefix + suffix, 'utf8');
  }
}

function loadEtcd3(): Etcd3Module {
  try {
    return require('etcd3') as Etcd3Module;
  } catch (e) {
    throw new AbuError('ABU_ERR_CONFIG', `site.coordination names etcd, but the etcd3 client package is not installed (npm install in the abu folder): ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

/** The end of the key range holding every key that starts with `prefix` (etcd's "prefix + 1"). */
function rangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function parseRollout(kv: IKeyValue): Rollout {
  try {
    return JSON.parse(kv.value.toString('utf8')) as Rollout;
  } catch (e) {
    throw new AbuError('ABU_ERR_STATE_CORRUPT', `etcd: the rollout journal ${kv.key.toString('utf8')} is not JSON (${(e as Error).message}); delete the key to forget the rollout`, { cause: e });
  }
}
