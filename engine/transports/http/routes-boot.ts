// Boot routes: activate the alternate image (optionally restarting into it), mark good or bad, reboot.
import type { FastifyInstance } from 'fastify';
import { jsonBody, optionalBoolean, optionalSlot } from './request-input';
import type { DaemonContext } from './server';

export function registerBootRoutes(app: FastifyInstance, ctx: DaemonContext): void {
  app.post('/api/activate', async (req, reply) => {
    const body = jsonBody(req, ['slot', 'reboot', 'acceptIrreversible']);
    const target = optionalSlot(body, 'slot') ?? 'other';
    const reboot = optionalBoolean(body, 'reboot', false);
    const acceptIrreversible = optionalBoolean(body, 'acceptIrreversible', false);
    const result = await ctx.runner.run(`activate ${target}`, () => ctx.engine.activate(target, { acceptIrreversible }));
    ctx.hub.info(result.message);
    if (!reboot) return { ...result, activated: result.slot, rebooting: false };
    startReboot(ctx);
    return reply.code(202).send({ ...result, activated: result.slot, rebooting: true });
  });
  app.post('/api/mark-good', async (req) => {
    const slot = optionalSlot(jsonBody(req, ['slot']), 'slot');
    await ctx.runner.run('mark-good', () => ctx.engine.markGood(slot));
    return { markedGood: slot ?? 'booted' };
  });
  app.post('/api/mark-bad', async (req) => {
    const slot = optionalSlot(jsonBody(req, ['slot']), 'slot');
    await ctx.runner.run('mark-bad', () => ctx.engine.markBad(slot));
    return { markedBad: slot ?? 'booted' };
  });
  app.post('/api/reboot', async (_req, reply) => {
    await ctx.runner.assertIdle();
    startReboot(ctx);
    return reply.code(202).send({ rebooting: true });
  });
}

/**
 * Answers first, restarts after: on a real appliance the restart ends this process, so the client must
 * already have its answer. Failures go to the live log.
 */
export function startReboot(ctx: DaemonContext): void {
  setImmediate(() => {
    ctx.runner
      .run('reboot', () => ctx.engine.reboot())
      .then(() => ctx.hub.info('restart finished'))
      .catch((e: Error & { code?: string }) => ctx.hub.info(`restart failed: ${e.message}`, 'error', e.code));
  });
}
