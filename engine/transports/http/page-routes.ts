// Serves the web page (engine/transports/web: plain HTML, CSS, JS): a fixed list of files, so no path ever reaches the disk.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/token.js': { file: 'token.js', type: 'text/javascript; charset=utf-8' },
  '/actions.js': { file: 'actions.js', type: 'text/javascript; charset=utf-8' },
  '/bundle-head.js': { file: 'bundle-head.js', type: 'text/javascript; charset=utf-8' },
  '/queue.js': { file: 'queue.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

const HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

export function registerPageRoutes(app: FastifyInstance): void {
  const dir = webDir();
  for (const [route, { file, type }] of Object.entries(FILES)) {
    // Read per request: small files, and editing the page needs no daemon restart.
    app.get(route, async (_req, reply) => reply.headers(HEADERS).type(type).send(readFileSync(path.join(dir, file))));
  }
  // The page checks a token before it starts an upload and when the operator saves one: a wrong token is then
  // reported at once, not after the browser has begun sending a large file the server will not read.
  // Like every POST it passes the server's token check first, so reaching this handler means the token is right.
  app.post('/api/token-check', async () => ({ ok: true }));
}

/** The System patches and Cluster pages: served only by a daemon whose config has a site (routes-site.ts). */
export function registerSitePages(app: FastifyInstance): void {
  const dir = webDir();
  const pages: Record<string, { file: string; type: string }> = {
    '/site-common.js': { file: 'site-common.js', type: 'text/javascript; charset=utf-8' },
    '/site.html': { file: 'site.html', type: 'text/html; charset=utf-8' },
    '/site.js': { file: 'site.js', type: 'text/javascript; charset=utf-8' },
    '/cluster.html': { file: 'cluster.html', type: 'text/html; charset=utf-8' },
    '/cluster.js': { file: 'cluster.js', type: 'text/javascript; charset=utf-8' },
  };
  for (const [route, { file, type }] of Object.entries(pages)) {
    app.get(route, async (_req, reply) => reply.headers(HEADERS).type(type).send(readFileSync(path.join(dir, file))));
  }
}

/**
 * An appliance outside a site: its site pages answer 404 as a page a browser shows (a link from the README or a
 * bookmark lands here), saying why and where to go, instead of the API's JSON 404.
 */
export function registerNoSitePages(app: FastifyInstance): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>abu: not part of a site</title><link rel="stylesheet" href="/style.css"></head>
<body><main><h1>This appliance is not part of a site</h1><p>The System patches and Cluster pages run on an appliance whose config has a <code>site</code> section (a site's coordinator or member). See "Sites and clusters" in the README; <code>scripts/demo --site</code> starts a demo site.</p><p><a href="/">Back to this appliance's update page</a></p></main></body></html>\n`;
  for (const route of ['/site.html', '/cluster.html']) {
    app.get(route, async (_req, reply) => reply.code(404).headers(HEADERS).type('text/html; charset=utf-8').send(html));
  }
}

/** The page sources sit next to this file in the repo; the compiled server runs from dist/. */
export function webDir(): string {
  const candidates = [path.resolve(__dirname, '../web'), path.resolve(__dirname, '../../../../engine/transports/web')];
  const found = candidates.find((d) => existsSync(path.join(d, 'index.html')));
  if (!found) throw new Error(`web page files not found in ${candidates.join(' or ')}`);
  return found;
}
