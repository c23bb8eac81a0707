// /api/openapi.json against every API route the daemon registers, read from the route files' source, so a route
// added without its description fails here.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { openApiDocument } from '../../../../engine/transports/http/openapi';

const DIR = path.resolve(__dirname, '../../../../../engine/transports/http');
const SOURCES = readdirSync(DIR).filter((f) => /^(routes-.*|sse-route|page-routes)\.ts$/.test(f)).map((f) => path.join(DIR, f));

describe('OpenAPI: every API route', () => {
  it('documents every /api route with its method', () => {
    const doc = openApiDocument() as { paths: Record<string, Record<string, unknown>> };
    const routes: string[] = [];
    for (const file of SOURCES) {
      for (const m of readFileSync(file, 'utf8').matchAll(/app\.(get|post|put|delete)(?:<[^>]*>)?\('(\/api\/[^']+)'/g)) routes.push(`${m[1]} ${m[2].replace(/:(\w+)/g, '{$1}')}`);
    }
    assert.ok(routes.length >= 35, `found ${routes.length} routes`);
    const missing = routes.filter((r) => {
      const [method, route] = r.split(' ');
      return !doc.paths[route]?.[method];
    });
    assert.deepEqual(missing, []);
  });
});
