// The daemon's client limits over real HTTP: 429 over the rate, 503 over the stream caps, the token holder exempt.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { startSimDaemon, type SimDaemon } from './sim-daemon';

interface Answer { status: number; headers: http.IncomingHttpHeaders; body: string; res: http.IncomingMessage }

/** A GET from a chosen loopback address; for 200 event streams, resolves at the headers and leaves the stream open. */
function get(d: SimDaemon, route: string, from: string, token?: string): Promise<Answer> {
  const url = new URL(d.daemon.url);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: url.hostname, port: url.port, path: route, localAddress: from, agent: false, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      if (res.statusCode === 200 && route.startsWith('/api/events')) return resolve({ status: 200, headers: res.headers, body: '', res });
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (t: string) => (body += t));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, res }));
    });
    req.on('error', reject);
  });
}

describe('abu serve: client limits', function () {
  this.timeout(60_000);
  let d: SimDaemon;
  const open: http.IncomingMessage[] = [];
  beforeEach(async () => {
    d = await startSimDaemon({ editConfig: (c) => { c.http = { ...(c.http ?? {}), limits: { requestsPerSecond: 1, burst: 3, eventStreams: 2, eventStreamsPerClient: 1 } }; } });
  });
  afterEach(async () => {
    for (const r of open.splice(0)) r.destroy();
    await d.close();
  });

  it('answers 429 ABU_ERR_RATE_LIMITED with Retry-After over a client\'s rate; other clients and the token are not limited', async () => {
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await get(d, '/api/status', '127.0.0.2'));
    assert.deepEqual(answers.slice(0, 3).map((a) => a.status), [200, 200, 200], 'the burst');
    const limited = answers.find((a) => a.status === 429);
    assert.ok(limited, answers.map((a) => a.status).join(' '));
    assert.equal(JSON.parse(limited.body).code, 'ABU_ERR_RATE_LIMITED');
    assert.equal(JSON.parse(limited.body).details.limit, 'http.limits.requestsPerSecond');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal((await get(d, '/api/status', '127.0.0.3')).status, 200, 'another address has its own bucket');
    for (let i = 0; i < 10; i++) assert.equal((await get(d, '/api/status', '127.0.0.2', d.daemon.token)).status, 200, 'the operator, same address');
    const wrong = [];
    for (let i = 0; i < 10; i++) wrong.push((await get(d, '/api/status', '127.0.0.4', 'not-the-token-at-all')).status);
    assert.ok(wrong.includes(429), `a wrong token is counted: ${wrong.join(' ')}`);
  });

  it('answers 503 ABU_ERR_EVENT_STREAMS_FULL over the stream caps, frees a slot when a stream closes, never caps the token', async () => {
    const first = await get(d, '/api/events', '127.0.0.2');
    assert.equal(first.status, 200);
    open.push(first.res);
    const again = await get(d, '/api/events', '127.0.0.2');
    assert.equal(again.status, 503);
    assert.equal(JSON.parse(again.body).details.limit, 'http.limits.eventStreamsPerClient');
    const second = await get(d, '/api/events', '127.0.0.3');
    assert.equal(second.status, 200);
    open.push(second.res);
    const third = await get(d, '/api/events', '127.0.0.4');
    assert.equal(third.status, 503);
    assert.equal(JSON.parse(third.body).code, 'ABU_ERR_EVENT_STREAMS_FULL');
    assert.equal(JSON.parse(third.body).details.limit, 'http.limits.eventStreams');
    const operator = await get(d, '/api/events', '127.0.0.4', d.daemon.token);
    assert.equal(operator.status, 200, 'the token holder\'s stream is not counted');
    open.push(operator.res);
    first.res.destroy();
    // The slot comes back when the daemon sees the close: poll with a generous deadline.
    const end = Date.now() + 20_000;
    let retry = await get(d, '/api/events', '127.0.0.5');
    while (retry.status !== 200 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      retry = await get(d, '/api/events', '127.0.0.5');
    }
    assert.equal(retry.status, 200, 'a closed stream gives its slot back');
    open.push(retry.res);
  });
});
