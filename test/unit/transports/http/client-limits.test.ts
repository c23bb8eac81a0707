// Per-client rate buckets, event-stream slots and the shared status read, on a fake clock where time matters.
import assert from 'node:assert/strict';
import { isAbuError } from '../../../../engine/core/errors';
import { parseConfig } from '../../../../engine/config';
import { RateLimiter, StreamSlots } from '../../../../engine/transports/http/client-limits';
import { SharedRead } from '../../../../engine/transports/http/shared-read';

describe('HTTP client limits', () => {
  it('lets a client burst, then refuses with ABU_ERR_RATE_LIMITED naming the limit, and refills at the rate', () => {
    let now = 0;
    const r = new RateLimiter({ requestsPerSecond: 2, burst: 3 }, () => now);
    for (let i = 0; i < 3; i++) r.take('10.0.0.1');
    assert.throws(() => r.take('10.0.0.1'), (e) => isAbuError(e, 'ABU_ERR_RATE_LIMITED') && e.details.limit === 'http.limits.requestsPerSecond' && e.details.retryAfterSeconds === 1);
    r.take('10.0.0.2'); // another client has its own bucket
    now += 500; // one request's worth at 2/s
    r.take('10.0.0.1');
    assert.throws(() => r.take('10.0.0.1'), (e) => isAbuError(e, 'ABU_ERR_RATE_LIMITED'));
    now += 60_000; // refills up to the burst, not beyond
    for (let i = 0; i < 3; i++) r.take('10.0.0.1');
    assert.throws(() => r.take('10.0.0.1'), (e) => isAbuError(e, 'ABU_ERR_RATE_LIMITED'));
  });

  it('remembers a bounded number of clients', () => {
    const r = new RateLimiter({ requestsPerSecond: 1, burst: 1 });
    for (let i = 0; i < 10_000; i++) r.take(`c${i}`);
    assert.ok(r.trackedClients <= 4096, String(r.trackedClients));
  });

  it('caps event streams per client and in all, and gives slots back once', () => {
    const s = new StreamSlots({ eventStreams: 2, eventStreamsPerClient: 1 });
    const a = s.acquire('a');
    assert.throws(() => s.acquire('a'), (e) => isAbuError(e, 'ABU_ERR_EVENT_STREAMS_FULL') && e.details.limit === 'http.limits.eventStreamsPerClient');
    s.acquire('b');
    assert.throws(() => s.acquire('c'), (e) => isAbuError(e, 'ABU_ERR_EVENT_STREAMS_FULL') && e.details.limit === 'http.limits.eventStreams');
    a();
    a(); // a second release of the same slot changes nothing
    assert.equal(s.open, 1);
    s.acquire('c');
    assert.throws(() => s.acquire('d'), (e) => isAbuError(e, 'ABU_ERR_EVENT_STREAMS_FULL'));
  });

  it('reads http.limits from the config with defaults, and refuses bad or unknown fields', () => {
    const base = { product: 'p', keyring: 'k', stateDir: 's', slots: [{ name: 'A', device: 'a' }, { name: 'B', device: 'b' }], bootloader: { kind: 'uboot' } };
    assert.deepEqual(parseConfig(base, '/').http.limits, { requestsPerSecond: 20, burst: 40, eventStreams: 64, eventStreamsPerClient: 4 });
    assert.equal(parseConfig({ ...base, http: { limits: { burst: 5 } } }, '/').http.limits.burst, 5);
    assert.throws(() => parseConfig({ ...base, http: { limits: { burst: 0 } } }, '/'), (e) => isAbuError(e, 'ABU_ERR_CONFIG'));
    assert.throws(() => parseConfig({ ...base, http: { limits: { streams: 5 } } }, '/'), (e) => isAbuError(e, 'ABU_ERR_CONFIG') && /no field streams/.test(e.message));
  });
});

describe('SharedRead', () => {
  it('runs one read for callers that overlap, and a fresh one for a caller arriving while it runs', async () => {
    let reads = 0;
    const gates: (() => void)[] = [];
    const shared = new SharedRead(async () => {
      const n = ++reads;
      await new Promise<void>((r) => gates.push(r));
      return n;
    });
    const first = shared.get();
    const late = [shared.get(), shared.get(), shared.get()];
    assert.equal(reads, 1, 'callers arriving during a read wait for the next one, not a read each');
    gates.shift()!();
    assert.equal(await first, 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(reads, 2);
    gates.shift()!();
    assert.deepEqual(await Promise.all(late), [2, 2, 2], 'they share the read that started after they asked');
    const alone = shared.get();
    gates.shift()!();
    assert.equal(await alone, 3);
  });
});
