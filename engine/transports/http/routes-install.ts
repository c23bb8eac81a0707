// Install routes: upload (the body streams through verification into the slot), download from a URL, cancel.
import type { FastifyInstance } from 'fastify';
import type { InstallResult } from '../../facade';
import { HttpUrlSource } from '../../sources/http-url-source';
import type { ImageSource } from '../../sources/image-source';
import { UploadSource } from '../../sources/upload-source';
import { contentLength, displayName, jsonBody, optionalBoolean, requiredString, uploadBody } from './request-input';
import { cancellable } from './operation-runner';
import type { DaemonContext } from './server';

export function registerInstallRoutes(app: FastifyInstance, ctx: DaemonContext): void {
  app.post('/api/install', async (req) => {
    const body = uploadBody(req);
    // Refuse before reading a byte: a second upload must not be drained into nowhere.
    await ctx.runner.assertIdle();
    const name = displayName(req);
    const source = new UploadSource(body, { description: `upload "${name}" from ${req.ip}`, sizeHint: contentLength(req), maxBytes: await ctx.options.uploadLimit() });
    return install(ctx, `install ${name} (upload)`, source, optionalBoolean(req.query as Record<string, unknown>, 'activate', undefined));
  });

  app.post('/api/install-url', async (req) => {
    const body = jsonBody(req);
    const url = requiredString(body, 'url', 2048);
    const source = new HttpUrlSource(url, { maxBytes: await ctx.options.uploadLimit(), ...ctx.options.download });
    await ctx.runner.assertIdle();
    return install(ctx, `install from ${source.description}`, source, optionalBoolean(body, 'activate', undefined));
  });

  app.post('/api/cancel', async () => ({ cancelled: ctx.runner.cancel() }));
}

async function install(ctx: DaemonContext, name: string, source: ImageSource, activate: boolean | undefined): Promise<InstallResult> {
  return ctx.runner.run(name, (signal) => {
    ctx.hub.info(`${name}: started`);
    return ctx.engine.install(cancellable(source, signal), { signal, activate });
  });
}

