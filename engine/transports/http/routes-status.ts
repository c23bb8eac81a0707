// Read-only routes: status (with the apply warnings), history and the OpenAPI description.
import type { FastifyInstance } from 'fastify';
import { AbuError } from '../../core/errors';
import { openApiDocument } from './openapi';
import type { DaemonContext } from './server';
import { SharedRead } from './shared-read';
import { alternateActivatable, applyWarnings } from '../../policy/apply-warnings';

export function registerStatusRoutes(app: FastifyInstance, ctx: DaemonContext): void {
  // Many pages and monitors poll status: concurrent polls share one read, so their cost does not grow with their number.
  const status = new SharedRead(async () => {
    const s = await ctx.engine.status();
    const queued = ctx.queue ? (await ctx.queue.list()).items : [];
    return { ...s, operation: s.operation ?? (await ctx.runner.current()), warnings: applyWarnings(s, queued), alternateActivatable: alternateActivatable(s) };
  });
  app.get('/api/status', () => status.get());
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
