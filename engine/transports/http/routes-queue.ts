// Queue routes: list, add a package (spooled, signature-checked), remove one, apply all in version order.
import type { FastifyInstance } from 'fastify';
import { AbuError } from '../../core/errors';
import type { BundleQueue } from './bundle-queue';
import { contentLength, displayName, jsonBody, optionalBoolean, uploadBody } from './request-input';
import type { DaemonContext } from './server';

export function registerQueueRoutes(app: FastifyInstance, ctx: DaemonContext): void {
  const queue = (): BundleQueue => {
    if (!ctx.queue) throw new AbuError('ABU_ERR_NOT_FOUND', 'this daemon has no package queue configured');
    return ctx.queue;
  };
  app.get('/api/queue', async () => queue().list());
  app.post('/api/queue', async (req, reply) => {
    const body = uploadBody(req);
    const item = await queue().add(body, displayName(req), await ctx.options.uploadLimit(), contentLength(req));
    return reply.code(201).send(item);
  });
  app.delete('/api/queue/:id', async (req) => {
    const { id } = req.params as { id: string };
    await queue().remove(id);
    return { removed: id };
  });
  app.post('/api/queue/apply', async (req, reply) => {
    const acceptIrreversible = optionalBoolean(jsonBody(req, ['acceptIrreversible']), 'acceptIrreversible', false);
    return reply.code(202).send(await queue().apply(acceptIrreversible));
  });
}
