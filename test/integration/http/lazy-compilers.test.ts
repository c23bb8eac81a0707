// The daemon starts without Fastify's schema compilers (ajv, fast-json-stringify) and loads them if a route ever declares a schema.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startSimDaemon, type SimDaemon } from './sim-daemon';

/** The compilers' entry modules, resolved as Fastify resolves them. */
const fromFastify = createRequire(require.resolve('fastify'));
const loaded = (name: string) => require.cache[fromFastify.resolve(name)] !== undefined;

describe('daemon start-up: schema compilers load on first use', function () {
  this.timeout(30_000);
  let d: SimDaemon | null = null;
  after(async () => d?.close());

  // This runs in mocha's shared process: it holds while nothing else in the suite declares a route schema.
  it('answers status and errors without ever loading ajv or fast-json-stringify-compiler', async () => {
    d = await startSimDaemon();
    assert.equal((await d.call('GET', '/api/status')).status, 200);
    assert.equal((await d.call('GET', '/api/no-such-thing')).status, 404);
    assert.equal(loaded('@fastify/ajv-compiler'), false, 'ajv compiler loaded by an idle daemon');
    assert.equal(loaded('@fastify/fast-json-stringify-compiler'), false, 'serializer compiler loaded by an idle daemon');
  });

  it('a route with a schema still gets validated (the compiler loads then)', async () => {
    // Routes cannot be added to a listening server: check the daemon's builders through a second server built the same way.
    const { buildHttpServer } = await import('../../../engine/transports/http/server');
    const { app: second } = await buildHttpServer(d!.daemon.engine, { token: 't', uploadLimit: async () => 0 });
    second.post('/schema-check', { schema: { body: { type: 'object', required: ['a'], properties: { a: { type: 'number' } } } } }, async () => ({ ok: true }));
    // Over a real socket: the error path lingers on the connection, which an injected request does not have.
    const url = await second.listen({ host: '127.0.0.1', port: 0 });
    const post = (body: unknown) => fetch(`${url}/schema-check`, { method: 'POST', headers: { authorization: 'Bearer t', 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const bad = await post({ b: 1 });
    const good = await post({ a: 1 });
    await second.close();
    assert.equal(bad.status, 400);
    assert.equal(good.status, 200);
    assert.equal(loaded('@fastify/ajv-compiler'), true);
  });
});
