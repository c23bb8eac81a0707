// Cluster routes (product-docs/002): activate the alternate image cluster-wide (primary first, HA partners never down
// together), switch back, and the rollout's state as JSON or Server-Sent Events. Registered only when the config has a site.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as semver from 'semver';
import { AbuError } from '../../core/errors';
import type { ReplicaMeta } from '../../cluster/replica-store';
import type { SiteService } from '../../cluster/site-service';
import type { Rollout } from '../../cluster/coordination-store';
import { jsonBody, optionalBoolean } from './request-input';
import { openStream, type DaemonContext } from './server';

export function registerClusterRoutes(app: FastifyInstance, ctx: DaemonContext, svc: SiteService): void {
  const runner = () => {
    svc.site.requireCoordinator('cluster rollout');
    return svc.rollouts!;
  };

  app.post('/api/cluster/activate', async (req, reply) => {
    const rollouts = runner();
    const body = jsonBody(req, ['bundle', 'ha', 'acceptIrreversible']);
    const meta = await chooseBundle(svc, body.bundle);
    const ha = optionalBoolean(body, 'ha', svc.site.hasHaGroups())!;
    const rollout = await rollouts.activate(meta, { ha, acceptIrreversible: optionalBoolean(body, 'acceptIrreversible', false)! });
    ctx.hub.info(`cluster: activating ${meta.version} on ${rollout.order.length} member(s), ${svc.site.coordinator.name} first${ha ? ', HA mode' : ''}`);
    return reply.code(202).send({ rollout });
  });

  app.post('/api/cluster/switch-back', async (req, reply) => {
    const rollouts = runner();
    const ha = optionalBoolean(jsonBody(req, ['ha']), 'ha', svc.site.hasHaGroups())!;
    const rollout = await rollouts.switchBack({ ha });
    ctx.hub.info(`cluster: switching back every member to its alternate image${ha ? ', HA mode' : ''}`);
    return reply.code(202).send({ rollout });
  });

  app.get('/api/cluster/rollout', async () => runner().status());

  // The coordination store (etcd) lost: the rollout pauses and goes on from its journal; the operator is told.
  svc.rollouts?.events.on('unavailable', (e: AbuError) => ctx.hub.info(`cluster: rollout paused until the coordination store answers: ${e.message}`, 'warn', e.code));
  svc.rollouts?.events.on('conflict', (e: AbuError) => ctx.hub.info(`cluster: this coordinator stopped driving the rollout: ${e.message}`, 'error', e.code));

  const open = new Set<Response>();
  app.get('/api/cluster/events', (req, reply) => {
    openStream(req, reply, ctx);
    streamRollout(req, reply.raw, runner(), reply, open);
  });
  // Event streams never end by themselves: end them so the server can close.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });
}

/**
 * The bundle named; else the one of a rollout that stopped (to finish it); else the one the coordinator holds in
 * its alternate image; else the newest stored above what the coordinator runs.
 */
async function chooseBundle(svc: SiteService, id: unknown): Promise<ReplicaMeta> {
  if (typeof id === 'string' && id) return svc.resolveBundle(id);
  const all = await svc.store.list();
  const last = (await svc.rollouts!.status()).rollout;
  const unfinished = last?.kind === 'activate' && last.state === 'failed' ? all.find((b) => b.sha256 === last.sha256) : undefined;
  if (unfinished) return unfinished;
  const s = await svc.statusOf(svc.site.coordinator);
  const alt = s?.slots.find((x) => x.name === s.alternate);
  const booted = s?.slots.find((x) => x.name === s.booted)?.version ?? '0.0.0';
  const inAlternate = all.find((b) => alt?.image === 'verified' && b.version === alt.version && semver.gt(b.version, booted));
  const newest = all.filter((b) => semver.valid(b.version) && semver.gt(b.version, booted)).sort((a, b) => semver.rcompare(a.version, b.version))[0];
  const chosen = inAlternate ?? newest;
  if (!chosen) throw new AbuError('ABU_ERR_USAGE', `no stored bundle is newer than ${booted}, the version ${svc.site.coordinator.name} runs; upload one first`);
  return chosen;
}

type Response = import('node:http').ServerResponse;

function streamRollout(req: FastifyRequest, res: Response, rollouts: NonNullable<SiteService['rollouts']>, reply: { hijack(): void }, open: Set<Response>): void {
  reply.hijack();
  open.add(res);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = (r: Rollout | null) => res.write(`event: rollout\ndata: ${JSON.stringify(r)}\n\n`);
  void rollouts.status().then((s) => send(s.rollout), () => undefined);
  rollouts.events.on('change', send);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  const end = () => {
    clearInterval(heartbeat);
    open.delete(res);
    rollouts.events.off('change', send);
  };
  req.raw.on('close', end);
  res.on('close', end);
}
