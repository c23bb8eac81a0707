// Member-to-member routes (/api/site/peer/*): replicas in and out, install from a replica, activate, reboot.
// They take the calling member's site token, never the operator's, and only from the members the site allows.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AbuError } from '../../core/errors';
import { pullReplica } from '../../cluster/replica-pull';
import type { SiteService } from '../../cluster/site-service';
import type { SiteMember } from '../../cluster/site';
import { FileSource } from '../../sources/file-source';
import { serveReplica } from './replica-serve';
import { jsonBody, optionalBoolean, requiredNumber, uploadBody } from './request-input';
import { startReboot } from './routes-boot';
import type { DaemonContext } from './server';

type Params = { sha: string };

export function registerSitePeerRoutes(app: FastifyInstance, ctx: DaemonContext, svc: SiteService): void {
  const { site, store } = svc;
  const fromCoordinator = (req: FastifyRequest, what: string) => allow(req, svc, what, (m) => m.name === site.coordinator.name);

  app.get<{ Params: Params }>('/api/site/peer/replicas/:sha', async (req) => store.state(req.params.sha));
  app.get('/api/site/peer/replicas', async () => ({ replicas: await store.list(), used: await store.used(), budget: site.config.bundleBudgetBytes }));

  app.put<{ Params: Params }>('/api/site/peer/replicas/:sha', async (req, reply) => {
    const { offset, size } = await refuseAfterDrain(req, () => {
      // Pushed replicas (a seeding tool; the site itself pulls) come from the coordinator or this data center's primary.
      allow(req, svc, 'send a replica', (m) => m.name === site.coordinator.name || m.name === site.primaryOf(site.self.dataCenter).name);
      return contentRange(req);
    });
    const state = await store.receive(req.params.sha, size, offset, uploadBody(req));
    // An already verified replica is answered without reading the body: close rather than drain it.
    if (!req.raw.readableEnded) reply.header('connection', 'close');
    if (state.state === 'verified') ctx.hub.info(`site: replica of bundle ${req.params.sha.slice(0, 12)} verified by this member`);
    return state;
  });

  app.delete<{ Params: Params }>('/api/site/peer/replicas/:sha', async (req) => {
    fromCoordinator(req, 'remove a replica');
    return { removed: await store.remove(req.params.sha) };
  });

  // A member fetches its replica from its source, which may still be receiving it (bytes as they arrive here).
  app.get<{ Params: Params }>('/api/site/peer/replicas/:sha/content', async (req, reply) => {
    const caller = allow(req, svc, 'serve a replica', (m) => site.sourceOf(m)?.name === site.selfName, 'a member fetches only from its own source (its data center\'s primary; the coordinator for a primary)');
    await serveReplica(req, reply, store, site.config.replication.maxBytesPerSecond, caller.name);
  });

  // The coordinator asks a member to fetch a bundle from its source; the answer comes once the member verified it.
  app.post<{ Params: Params }>('/api/site/peer/replicas/:sha/pull', async (req) => {
    fromCoordinator(req, 'fetch a replica');
    const size = requiredNumber(jsonBody(req), 'size');
    const source = site.sourceOf(site.self);
    if (!source) throw new AbuError('ABU_ERR_USAGE', `${site.selfName} is the coordinator: it holds the upload itself and fetches from no one`);
    try {
      const r = await pullReplica(store, req.params.sha, size, svc.clientOf(source));
      if (r.received > 0) ctx.hub.info(`site: replica of bundle ${req.params.sha.slice(0, 12)} fetched from ${source.name} (from byte ${r.offset}) and verified by this member`);
      return r;
    } catch (e) {
      ctx.hub.info(`site: fetching bundle ${req.params.sha.slice(0, 12)} from ${source.name} failed: ${(e as Error).message}`, 'warn', (e as { code?: string }).code);
      throw e;
    }
  });

  app.post<{ Params: Params }>('/api/site/peer/replicas/:sha/install', async (req) => {
    fromCoordinator(req, 'install a bundle');
    const body = jsonBody(req);
    const file = await store.fileOf(req.params.sha);
    const meta = (await store.get(req.params.sha))!;
    const options = { activate: optionalBoolean(body, 'activate', true), acceptIrreversible: optionalBoolean(body, 'acceptIrreversible', false) };
    const name = `install ${meta.version} from the site replica (asked by ${site.coordinator.name})`;
    return ctx.runner.run(name, (signal) => {
      ctx.hub.info(`${name}: started`);
      return ctx.engine.install(new FileSource(file), { ...options, signal });
    });
  });

  app.post('/api/site/peer/activate', async (req) => {
    fromCoordinator(req, 'activate a slot');
    const body = jsonBody(req);
    const target = typeof body.target === 'string' ? body.target : 'other';
    const result = await ctx.runner.run(`activate ${target} (asked by ${site.coordinator.name})`, () => ctx.engine.activate(target, { acceptIrreversible: optionalBoolean(body, 'acceptIrreversible', false) }));
    ctx.hub.info(result.message);
    return result;
  });

  app.post('/api/site/peer/reboot', async (req, reply) => {
    fromCoordinator(req, 'reboot');
    await ctx.runner.assertIdle();
    ctx.hub.info(`site: restart asked by the coordinator ${site.coordinator.name}`);
    startReboot(ctx);
    return reply.code(202).send({ rebooting: true });
  });
}

/** The calling member, by its token; ABU_ERR_UNAUTHORIZED unless `may` accepts it. */
function allow(req: FastifyRequest, svc: SiteService, what: string, may: (m: SiteMember) => boolean, rule?: string): SiteMember {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  const caller = m ? svc.site.callerOf(m[1]) : null;
  const self = svc.site.selfName;
  if (!caller) throw new AbuError('ABU_ERR_UNAUTHORIZED', `${self} refuses to ${what}: the request carries no site member's token (member calls use the caller's site token from the site description)`);
  if (!may(caller)) {
    throw new AbuError('ABU_ERR_UNAUTHORIZED', `${self} refuses to ${what} for ${caller.name}: ${rule ?? `site commands are taken only from the coordinator ${svc.site.coordinator.name}`}`, { details: { caller: caller.name, coordinator: svc.site.coordinator.name } });
  }
  return caller;
}

/**
 * A refusal sent while the sender's bytes are still unread makes the kernel reset the connection, and the sender
 * sees "connection reset" instead of the reason. Read up to 1 MiB of a refused body first (bigger ones are cut).
 */
async function refuseAfterDrain<T>(req: FastifyRequest, check: () => T): Promise<T> {
  try {
    return check();
  } catch (e) {
    await new Promise<void>((resolve) => {
      let seen = 0;
      const body = req.raw;
      const timer = setTimeout(resolve, 2000);
      body.on('data', (b: Buffer) => (seen += b.length) > 1024 * 1024 && resolve());
      body.once('end', () => (clearTimeout(timer), resolve()));
      body.once('error', () => resolve());
    });
    throw e;
  }
}

export function contentRange(req: FastifyRequest): { offset: number; size: number } {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
  if (!m) throw new AbuError('ABU_ERR_USAGE', 'a replica upload needs "Content-Range: bytes START-END/SIZE"');
  const [offset, end, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (!(offset <= end + 1 && end < size)) throw new AbuError('ABU_ERR_USAGE', `Content-Range ${m[0]} is inconsistent`);
  return { offset, size };
}
