// Builds the daemon's HTTP server: auth, error mapping, body parsers and every route, over the engine facade.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AbuError } from '../../core/errors';
import type { Engine } from '../../facade';
import { checkBearer } from './auth';
import { errorBody, httpStatusOf, toAbuError } from './error-status';
import { EventHub } from './event-hub';
import { OperationRunner } from './operation-runner';
import type { BundleQueue } from './bundle-queue';
import { registerBootRoutes } from './routes-boot';
import { registerInstallRoutes } from './routes-install';
import { registerQueueRoutes } from './routes-queue';
import { registerStatusRoutes } from './routes-status';
import { registerEventRoutes } from './sse-route';
import { registerPageRoutes } from './page-routes';
import type { SiteService } from '../../cluster/site-service';
import { registerSiteRoutes } from './routes-site';
import { registerClusterRoutes } from './routes-cluster';

export interface HttpServerOptions {
  token: string;
  /** Largest bundle the alternate slot can take, in bytes (upload and download bound). */
  uploadLimit(): Promise<number>;
  /** Spooled bundles applied in version order; absent when the daemon has nowhere to keep them. */
  createQueue?: (ctx: Omit<DaemonContext, 'queue'>) => BundleQueue;
  https?: { cert: Buffer; key: Buffer };
  /** Download tuning (tests shorten the retry delay; private PKI passes a CA). */
  download?: { retries?: number; retryDelayMs?: number; idleTimeoutMs?: number; ca?: string | Buffer };
  /** The site layer (engine/cluster), when the config has a site section. */
  site?: SiteService;
}

/** What every route file gets: the facade plus the daemon's own pieces. */
export interface DaemonContext {
  engine: Engine;
  hub: EventHub;
  runner: OperationRunner;
  options: HttpServerOptions;
  queue: BundleQueue | null;
}

const JSON_BODY_LIMIT = 64 * 1024;

export async function buildHttpServer(engine: Engine, options: HttpServerOptions): Promise<{ app: FastifyInstance; ctx: DaemonContext }> {
  const app = Fastify({
    bodyLimit: JSON_BODY_LIMIT,
    // No whole-request deadline: a large upload over a slow link may take long. A stalled one is ended by the
    // bundle reader's idle timeout (30 s without bytes), and headers must still arrive within Node's headersTimeout.
    connectionTimeout: 0,
    requestTimeout: 0,
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;
  const base = { engine, hub: new EventHub(engine), runner: new OperationRunner(engine), options };
  const ctx: DaemonContext = { ...base, queue: options.createQueue ? options.createQueue(base) : null };
  // Bundles are never buffered: the parser hands the raw request stream to the route.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  app.addHook('onRequest', async (req) => requireToken(req, options.token, options.site !== undefined));
  app.setErrorHandler((err, req, reply) => sendError(reply, err, req));
  app.setNotFoundHandler((req, reply) => sendError(reply, new AbuError('ABU_ERR_NOT_FOUND', `no such resource: ${req.method} ${req.url.slice(0, 200)}`), req));
  registerStatusRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerInstallRoutes(app, ctx);
  registerBootRoutes(app, ctx);
  registerQueueRoutes(app, ctx);
  registerPageRoutes(app);
  if (options.site) registerSiteRoutes(app, ctx, options.site);
  if (options.site) registerClusterRoutes(app, ctx, options.site);
  app.addHook('onClose', async () => ctx.hub.close());
  return { app, ctx };
}

/** Reading is open to anyone who can reach the port; anything that changes the appliance needs the token. */
function requireToken(req: FastifyRequest, token: string, site: boolean): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
  // Member-to-member calls carry the calling member's site token, checked by each route (routes-site-peer.ts).
  if (site && req.url.startsWith('/api/site/peer/')) return;
  checkBearer(req.headers.authorization, token);
}

export function sendError(reply: FastifyReply, err: unknown, req: FastifyRequest): FastifyReply {
  const e = toAbuError(err);
  const status = httpStatusOf(e.code);
  // An unread upload body would otherwise keep the connection busy: close it after answering.
  if (req.headers['content-type']?.startsWith('application/octet-stream')) reply.header('connection', 'close');
  if (status >= 500) req.log.error({ err }, e.message);
  return reply.code(status).type('application/json').send(errorBody(e));
}
