// /api/openapi.json against the site and cluster routes the daemon registers, read from their source, so a route
// added there without its description fails here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { openApiDocument } from '../../../../engine/transports/http/openapi';

const SOURCES = ['routes-site.ts', 'routes-site-peer.ts', 'routes-cluster.ts'].map((f) => path.resolve(__dirname, '../../../../../engine/transports/http', f));

describe('OpenAPI: site and cluster routes', () => {
  it('documents every site and cluster route with its method', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const routes: string[] = [];
    for (const file of SOURCES) {
      for (const m of readFileSync(file, 'utf8').matchAll(/app\.(get|post|put|delete)(?:<[^>]*>)?\('([^']+)'/g)) routes.push(`${m[1]} ${m[2].replace(/:(\w+)/g, '{$1}')}`);
    }
    assert.ok(routes.length >= 19, `found ${routes.length} routes`);
    const missing = routes.filter((r) => {
      const [method, route] = r.split(' ');
      return !doc.paths[route]?.[method];
    });
    assert.deepEqual(missing, []);
  });
});
