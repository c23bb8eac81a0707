// Install routes: upload (the body streams through verification into the slot), download from a URL, cancel.
import type { FastifyInstance } from 'fastify';
import type { InstallOptions, InstallResult } from '../../facade';
import { HttpUrlSource } from '../../sources/http-url-source';
import type { ImageSource } from '../../sources/image-source';
import { UploadSource } from '../../sources/upload-source';
import { contentLength, displayName, jsonBody, knownFieldsOnly, optionalBoolean, requiredString, uploadBody } from './request-input';
import { cancellable } from './operation-runner';
import type { DaemonContext } from './server';

export function registerInstallRoutes(app: FastifyInstance, ctx: DaemonContext): void {
  app.post('/api/install', async (req) => {
    const body = uploadBody(req);
    knownFieldsOnly(req.query as Record<string, unknown>, INSTALL_OPTIONS, 'POST /api/install');
    // Refuse before reading a byte: a second upload must not be drained into nowhere.
    await ctx.runner.assertIdle();
    const name = displayName(req);
    const source = new UploadSource(body, { description: `upload "${name}" from ${req.ip}`, sizeHint: contentLength(req), maxBytes: await ctx.options.uploadLimit() });
    return install(ctx, `install ${name} (upload)`, source, installOptions(req.query as Record<string, unknown>));
  });

  app.post('/api/install-url', async (req) => {
    const body = jsonBody(req, ['url', ...INSTALL_OPTIONS]);
    const url = requiredString(body, 'url', 2048);
    const source = new HttpUrlSource(url, { maxBytes: await ctx.options.uploadLimit(), ...ctx.options.download });
    await ctx.runner.assertIdle();
    return install(ctx, `install from ${source.description}`, source, installOptions(body));
  });

  app.post('/api/cancel', async () => ({ cancelled: ctx.runner.cancel() }));
}

/** The install options a call takes, as query parameters (upload) or JSON fields (URL). */
const INSTALL_OPTIONS = ['activate', 'acceptIrreversible', 'reboot', 'adaptive'] as const;

/** activate (default: config install.activate), acceptIrreversible, reboot: from the query (upload) or the JSON body (URL). */
export function installOptions(from: Record<string, unknown>): InstallOptions {
  return {
    activate: optionalBoolean(from, 'activate', undefined),
    acceptIrreversible: optionalBoolean(from, 'acceptIrreversible', false),
    reboot: optionalBoolean(from, 'reboot', false),
    adaptive: optionalBoolean(from, 'adaptive', undefined),
  };
}

async function install(ctx: DaemonContext, name: string, source: ImageSource, options: InstallOptions): Promise<InstallResult> {
  return ctx.runner.run(name, (signal) => {
    ctx.hub.info(`${name}: started`);
    return ctx.engine.install(cancellable(source, signal), { ...options, signal });
  });
}

