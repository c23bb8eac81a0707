// Read-only routes: status (with the apply warnings), history and the OpenAPI description.
import type { FastifyInstance } from 'fastify';
import { AbuError } from '../../core/errors';
import { openApiDocument } from './openapi';
import type { DaemonContext } from './server';
import { alternateActivatable, applyWarnings } from './warnings';

export function registerStatusRoutes(app: FastifyInstance, ctx: DaemonContext): void {
  app.get('/api/status', async () => {
    const status = await ctx.engine.status();
    const queued = ctx.queue ? (await ctx.queue.list()).items : [];
    return { ...status, operation: status.operation ?? (await ctx.runner.current()), warnings: applyWarnings(status, queued), alternateActivatable: alternateActivatable(status) };
  });
  app.get('/api/history', async (req) => {
    const limit = parseLimit((req.query as Record<string, unknown>).limit);
    return { entries: await ctx.engine.history(limit) };
  });
  app.get('/api/openapi.json', async () => openApiDocument());
}

export function parseLimit(raw: unknown): number {
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new AbuError('ABU_ERR_USAGE', `limit must be an integer from 1 to 1000, not ${JSON.stringify(String(raw).slice(0, 40))}`);
  return n;
}
