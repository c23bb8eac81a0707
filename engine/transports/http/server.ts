// Builds the daemon's HTTP server: auth, error mapping, body parsers and every route, over the engine facade.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
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
import { registerNoSitePages, registerPageRoutes } from './page-routes';
import type { SiteService } from '../../cluster/site-service';
import { DEFAULT_HTTP_LIMITS, type HttpLimits } from '../../config';
import { RateLimiter, StreamSlots, clientOf } from './client-limits';

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
  /** Per-client request rate and event-stream caps (config http.limits; defaults when absent). */
  limits?: HttpLimits;
}

/** What every route file gets: the facade plus the daemon's own pieces. */
export interface DaemonContext {
  engine: Engine;
  hub: EventHub;
  runner: OperationRunner;
  options: HttpServerOptions;
  queue: BundleQueue | null;
  /** Open event streams, capped (client-limits.ts); every SSE route takes a slot through openStream. */
  streams: StreamSlots;
}

const JSON_BODY_LIMIT = 64 * 1024;

/**
 * No route declares a JSON schema, yet Fastify loads its default validator and serializer compilers (ajv and
 * fast-json-stringify: 100 of the 260 modules an idle daemon loaded, ~1.5 MiB of heap) at start. These builders
 * load them the first time a schema is compiled, from Fastify's own dependencies, and never otherwise.
 */
type CompilerBuilder = (...args: unknown[]) => unknown;
const fromFastify = createRequire(require.resolve('fastify'));
const lazyCompilers = <NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>{
  buildValidator: (...args: unknown[]) => (fromFastify('@fastify/ajv-compiler') as () => CompilerBuilder)()(...args),
  buildSerializer: (...args: unknown[]) => (fromFastify('@fastify/fast-json-stringify-compiler') as () => CompilerBuilder)()(...args),
};

export async function buildHttpServer(engine: Engine, options: HttpServerOptions): Promise<{ app: FastifyInstance; ctx: DaemonContext }> {
  const app = Fastify({
    bodyLimit: JSON_BODY_LIMIT,
    // No whole-request deadline: a large upload over a slow link may take long. A stalled one is ended by the
    // bundle reader's idle timeout (30 s without bytes), and headers must still arrive within Node's headersTimeout.
    connectionTimeout: 0,
    requestTimeout: 0,
    schemaController: { compilersFactory: lazyCompilers },
    ...(options.https ? { https: options.https } : {}),
  }) as unknown as FastifyInstance;
  const limits = options.limits ?? DEFAULT_HTTP_LIMITS;
  const base = { engine, hub: new EventHub(engine), runner: new OperationRunner(engine), options, streams: new StreamSlots(limits) };
  const ctx: DaemonContext = { ...base, queue: options.createQueue ? options.createQueue(base) : null };
  // Bundles are never buffered: the parser hands the raw request stream to the route.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
  const rates = new RateLimiter(limits);
  // Rates first: a flood of bad tokens is a flood too. The operator (the token) is never counted, so installs and
  // status stay answered whatever other clients send.
  app.addHook('onRequest', async (req) => {
    if (!isOperator(req, options.token) && !isSiteMember(req, options.site)) rates.take(clientOf(req));
  });
  app.addHook('onRequest', async (req) => requireToken(req, options.token, options.site !== undefined));
  app.setErrorHandler((err, req, reply) => sendError(reply, err, req));
  app.setNotFoundHandler((req, reply) => sendError(reply, new AbuError('ABU_ERR_NOT_FOUND', `no such resource: ${req.method} ${req.url.slice(0, 200)}`), req));
  registerStatusRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerInstallRoutes(app, ctx);
  registerBootRoutes(app, ctx);
  registerQueueRoutes(app, ctx);
  registerPageRoutes(app);
  if (options.site) await registerSiteLayer(app, ctx, options.site);
  else registerNoSitePages(app);
  app.addHook('onClose', async () => ctx.hub.close());
  return { app, ctx };
}

/** Reading is open to anyone who can reach the port; anything that changes the appliance needs the token. */
/** The site and cluster routes load only on a member of a site: an appliance on its own never pays for them. */
async function registerSiteLayer(app: FastifyInstance, ctx: DaemonContext, site: SiteService): Promise<void> {
  const [{ registerSiteRoutes }, { registerClusterRoutes }] = await Promise.all([import('./routes-site'), import('./routes-cluster')]);
  registerSiteRoutes(app, ctx, site);
  registerClusterRoutes(app, ctx, site);
}

function requireToken(req: FastifyRequest, token: string, site: boolean): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
  // Member-to-member calls carry the calling member's site token, checked by each route (routes-site-peer.ts).
  if (site && req.url.startsWith('/api/site/peer/')) return;
  checkBearer(req.headers.authorization, token);
}

/** True when the request carries the daemon's token (the operator, the CLI, the page once given the token). */
export function isOperator(req: FastifyRequest, token: string): boolean {
  if (req.headers.authorization === undefined) return false;
  try {
    checkBearer(req.headers.authorization, token);
    return true;
  } catch {
    return false;
  }
}

/** True when the request carries a site member's token: members poll and replicate to each other, uncounted. */
function isSiteMember(req: FastifyRequest, site: SiteService | undefined): boolean {
  const m = site && /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return Boolean(m && site!.site.callerOf(m[1]));
}

/**
 * A slot for an event stream, released when the stream closes; the operator's streams are not counted. Throws
 * ABU_ERR_EVENT_STREAMS_FULL (503) before anything is sent, so call it before hijacking the reply.
 */
export function openStream(req: FastifyRequest, reply: FastifyReply, ctx: DaemonContext): void {
  if (isOperator(req, ctx.options.token)) return;
  const release = ctx.streams.acquire(clientOf(req));
  // The response's close, not the request's: a GET's request closes once its (empty) body is read.
  reply.raw.once('close', release);
}

export function sendError(reply: FastifyReply, err: unknown, req: FastifyRequest): FastifyReply {
  const e = toAbuError(err, req.headers['content-type']);
  const status = httpStatusOf(e.code);
  lingerOnUnreadUpload(req, reply);
  if (status >= 500 && status !== 503) req.log.error({ err }, e.message);
  const retry = e.details.retryAfterSeconds;
  if (typeof retry === 'number') reply.header('retry-after', String(retry));
  return reply.code(status).type('application/json').send(errorBody(e));
}

/** How long an upload answered early may go on sending after the answer (see lingerOnUnreadUpload). */
const UPLOAD_LINGER_MS = 5000;

/**
 * An upload answered before its body was read (refused bundle, busy, bad token) is read on, and discarded, for a
 * while after the answer. Closing a socket with unread bytes makes the kernel send a reset: a client still writing
 * the upload then fails with EPIPE or ECONNRESET and may never see the answer (Node's client drops it,
 * nodejs/node#12339). So the close is staged as RFC 9112 section 9.6 describes: answer, half-close (when the
 * connection is to close), keep reading until the client stops sending or closes, then close. The bound keeps a
 * client that does not stop from holding the connection.
 */
function lingerOnUnreadUpload(req: FastifyRequest, reply: FastifyReply): void {
  const body = req.raw;
  if (body.complete || body.destroyed) return;
  body.unpipe();
  body.resume();
  // For "Connection: close" Node ends the response with socket.destroySoon(): FIN, then close once flushed,
  // with the client's bytes still arriving. Make it the half-close; the socket closes when both sides are done.
  const socket: Socket = body.socket;
  socket.destroySoon = () => socket.end();
  reply.raw.once('finish', () => {
    // Node's own 'finish' listener has run (and half-closed if it was to close): later answers close as usual.
    Reflect.deleteProperty(socket, 'destroySoon');
    const timer = setTimeout(() => {
      if (socket.writableEnded || !body.complete) socket.destroy();
    }, UPLOAD_LINGER_MS).unref();
    socket.once('close', () => clearTimeout(timer));
  });
}
