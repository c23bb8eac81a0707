// The site and cluster suite: six real `abu serve` daemons started once (shared-site.ts), then the cases in order,
// each building on the state the previous one left (replication, then rollouts, then the CLI, then etcd).
import { cliCases } from './cli-cases';
import { etcdCases } from './etcd-cases';
import { replicationCases } from './replication-cases';
import { rolloutCases } from './rollout-cases';

replicationCases();
rolloutCases();
cliCases();
etcdCases();
