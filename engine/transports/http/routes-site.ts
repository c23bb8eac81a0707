// Site routes for the operator (System patches, product-docs/001): members, bundle upload with replication n/m,
// organizations not yet on a bundle, install by organization and data center. Registered only when the config has a site.
import type { FastifyInstance } from 'fastify';
import { AbuError } from '../../core/errors';
import { installByOrganization, organizationsFor } from '../../cluster/site-install';
import type { SiteService } from '../../cluster/site-service';
import { registerSitePages } from './page-routes';
import { announcedUpload, jsonBody, optionalBoolean, uploadBody } from './request-input';
import { registerSitePeerRoutes } from './routes-site-peer';
import type { DaemonContext } from './server';

type Params = { id: string };

export function registerSiteRoutes(app: FastifyInstance, ctx: DaemonContext, svc: SiteService): void {
  registerSitePeerRoutes(app, ctx, svc);
  registerSitePages(app);
  const { site } = svc;

  app.get('/api/site', async () => ({
    self: site.selfName, coordinator: site.coordinator.name, isCoordinator: site.isCoordinator,
    dataCenters: site.dataCenters(), organizations: site.organizations(), haGroups: site.hasHaGroups(),
    members: site.members.map((m) => site.publicMember(m)),
  }));

  app.get('/api/site/status', async () => {
    const replicator = svc.coordinator('site status');
    return { self: site.selfName, members: await svc.members(), bundles: await bundleList(svc, replicator) };
  });

  app.get('/api/site/bundles', async () => ({ bundles: await bundleList(svc, svc.coordinator('list bundles')) }));

  app.post('/api/site/bundles', async (req, reply) => {
    svc.coordinator('upload a bundle');
    const meta = await svc.upload(uploadBody(req), announcedUpload(req));
    ctx.hub.info(`site: bundle ${meta.version} (${meta.sha256.slice(0, 12)}) stored; replicating to ${site.members.length} member(s)`);
    return reply.code(201).send({ bundle: meta, replication: svc.replicator!.statusOf(meta.sha256) });
  });

  app.get<{ Params: Params }>('/api/site/bundles/:id', async (req) => {
    const replicator = svc.coordinator('show a bundle');
    const meta = await svc.resolveBundle(req.params.id);
    return { bundle: meta, replication: replicator.statusOf(meta.sha256) };
  });

  app.delete<{ Params: Params }>('/api/site/bundles/:id', async (req) => {
    const replicator = svc.coordinator('remove a bundle');
    const meta = await svc.resolveBundle(req.params.id);
    const result = await replicator.remove(meta.sha256);
    ctx.hub.info(`site: bundle ${meta.version} removed from ${result.removed.length} member(s)${result.failed.length ? `; not reached: ${result.failed.map((f) => f.member).join(', ')}` : ''}`);
    return { sha256: meta.sha256, ...result };
  });

  app.get<{ Params: Params }>('/api/site/bundles/:id/organizations', async (req) => {
    svc.coordinator('list organizations');
    const meta = await svc.resolveBundle(req.params.id);
    return { sha256: meta.sha256, version: meta.version, dataCenters: ['all', ...site.dataCenters()], organizations: await organizationsFor(site, meta, (m) => svc.statusOf(m)) };
  });

  app.post('/api/site/install', async (req) => {
    const replicator = svc.coordinator('install by organization');
    const body = jsonBody(req, ['bundle', 'organizations', 'dataCenter', 'activate', 'acceptIrreversible']);
    if (typeof body.bundle !== 'string') throw new AbuError('ABU_ERR_USAGE', 'bundle (SHA-256 or version) is required');
    const meta = await svc.resolveBundle(body.bundle);
    const organizations = Array.isArray(body.organizations) ? body.organizations.map(String) : site.organizations();
    const request = {
      organizations, dataCenter: typeof body.dataCenter === 'string' ? body.dataCenter : 'all',
      activate: optionalBoolean(body, 'activate', true)!, acceptIrreversible: optionalBoolean(body, 'acceptIrreversible', false)!,
    };
    const report = await installByOrganization(site, meta, replicator.statusOf(meta.sha256)!, request, (m) => svc.clientOf(m), (m) => svc.statusOf(m));
    for (const w of report.warnings) ctx.hub.info(`site: ${w}`, 'warn');
    for (const r of report.refused) ctx.hub.info(`site: ${r.member} refused ${meta.version}: ${r.message}`, 'error', r.code);
    return report;
  });
}

async function bundleList(svc: SiteService, replicator: NonNullable<SiteService['replicator']>) {
  const metas = await svc.store.list();
  return metas.map((meta) => ({ ...meta, replication: replicator.statusOf(meta.sha256) }));
}
