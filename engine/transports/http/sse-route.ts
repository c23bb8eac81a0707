// Progress and log as Server-Sent Events: event types progress | log | queue, data in the versioned schema of core/progress.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HubEvent } from './event-hub';
import { openStream, type DaemonContext } from './server';

const HEARTBEAT_MS = 15_000;

export function registerEventRoutes(app: FastifyInstance, ctx: DaemonContext): void {
  const open = new Set<ServerResponse>();
  app.get('/api/events', (req, reply) => stream(req, reply, ctx, open));
  // Event streams never end by themselves: end them so the server can close.
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });
}

function stream(req: FastifyRequest, reply: FastifyReply, ctx: DaemonContext, open: Set<ServerResponse>): void {
  openStream(req, reply, ctx);
  reply.hijack();
  const res = reply.raw;
  open.add(res);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Proxies such as nginx would otherwise hold events back.
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  // A reconnecting EventSource sends Last-Event-ID: replay what it missed; a new page gets the recent log.
  // ?since=now skips the backlog (the CLI only wants the run it starts).
  const since = (req.query as Record<string, string>).since;
  const lastId = Number(req.headers['last-event-id'] ?? since ?? 0) || 0;
  if (since !== 'now') for (const e of ctx.hub.since(lastId)) res.write(format(e));
  const stop = ctx.hub.listen((e) => res.write(format(e)));
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const end = () => {
    clearInterval(heartbeat);
    stop();
    open.delete(res);
  };
  res.on('close', end);
  res.on('error', end);
}

function format(e: HubEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e.data)}\n\n`;
}
