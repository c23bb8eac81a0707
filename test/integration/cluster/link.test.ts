// The link between the two data centers of the namespaced site network really delays and drops packets (issue 9
// point 6: "tc netem" delay and loss, done by netdelay on NFQUEUE since this kernel has no sch_netem), and only that
// link: traffic inside a data center never reaches netdelay. Own network, no daemons: nothing else is on the wire,
// so netdelay's counters move only with what the test sends. Where namespaces cannot be made (not root, no `ip`)
// the site falls back to loopback ports, there is no link to impair, and this suite is pending.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { DEFAULT_IMPAIRMENT } from './link-impairment';
import { createTestNetwork, waitFor, type MemberEndpoint, type TestNetwork } from './test-network';

const run = promisify(execFile);
const PROBE = path.join(__dirname, 'link-probe.js');
const PORT = '9000';
const LINK = DEFAULT_IMPAIRMENT;

describe('site network: delay and loss on the link between the data centers (netdelay on NFQUEUE)', function () {
  this.timeout(120_000);
  let dir = '';
  let net: TestNetwork | null = null;
  // dc1: a, b; dc2: c.
  let a: MemberEndpoint, b: MemberEndpoint, c: MemberEndpoint;
  const servers: ChildProcess[] = [];

  const probe = async (from: MemberEndpoint, ...args: (string | number)[]) => {
    const [cmd, ...argv] = net!.wrap(['node', PROBE, ...args.map(String)], from.ns);
    const { stdout } = await run(cmd, argv, { maxBuffer: 1 << 20 });
    return JSON.parse(stdout);
  };
  const stats = async () => (await net!.linkStats())!;

  before(async function () {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'abu-link-'));
    net = await createTestNetwork(dir, 2, LINK);
    if (net.kind !== 'netns') {
      process.stderr.write(`      (pending: ${net.link})\n`);
      this.skip();
    }
    [a, b, c] = [await net.endpoint(1, 1), await net.endpoint(2, 1), await net.endpoint(3, 2)];
    for (const e of [a, b, c]) {
      const [cmd, ...argv] = net.wrap(['node', PROBE, 'serve', PORT], e.ns);
      const s = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
      servers.push(s);
      let ready = false;
      createInterface({ input: s.stdout! }).once('line', () => (ready = true));
      await waitFor(() => ready, 30_000, `the probe server in ${e.ns}`);
    }
  });

  after(async () => {
    for (const s of servers) s.kill('SIGKILL');
    await net?.teardown();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('holds every packet that crosses the link for the delay, each way; none inside a data center is queued', async () => {
    assert.equal(net!.unimpairedBecause, null, 'netdelay did not start');
    assert.deepEqual(net!.impairment, LINK);
    const before = await stats();
    const inside: number[] = await probe(a, 'connect', b.host, PORT, 10);
    const between = await stats();
    // 10 connects inside dc1 are at least 30 packets (SYN, SYN-ACK, ACK each): had they gone through the link's ends,
    // netdelay would count them all. A stray packet or two may cross meanwhile (seen once in CI: 1 packet; what the
    // namespaces' own stacks send now and then), so the bound is below one connect's worth per 3 connects.
    assert.ok(between.received - before.received < 10, `${between.received - before.received} packets went through netdelay while dc1 talked within itself`);
    const across: number[] = await probe(a, 'connect', c.host, PORT, 5);
    const after = await stats();
    // A connect waits for the SYN to cross and the SYN-ACK to come back: two crossings, each held for the delay.
    assert.ok(Math.min(...across) >= 2 * LINK.delayMs, `connects across the link took ${across.map((t) => t.toFixed(1))} ms`);
    assert.ok(after.received >= between.received + 2 * across.length, `netdelay saw ${after.received - between.received} packets for ${across.length} connects`);
    process.stderr.write(`      connect inside dc1: min ${Math.min(...inside).toFixed(1)} ms; dc1 to dc2: min ${Math.min(...across).toFixed(1)} ms\n`);
  });

  it('drops about the configured share of packets and never reorders the others (jitter 0)', async () => {
    const before = await stats();
    const sent = 3000;
    const r = await probe(c, 'udp', a.host, PORT, sent);
    const after = await stats();
    const received = after.received - before.received, dropped = after.dropped - before.dropped;
    assert.ok(dropped > 0, `no packet dropped out of ${received}`);
    // 1 % of ~3000: mean 30, sd 5.5; more than 5 % would be a broken draw, not bad luck.
    assert.ok(dropped < received * 0.05, `${dropped} of ${received} dropped`);
    assert.ok(r.answer.count < sent, `all ${sent} datagrams arrived although ${dropped} packets were dropped`);
    assert.equal(r.answer.inOrder, true, 'datagrams arrived out of order');
    assert.deepEqual([after.overflow, after.lost], [0, 0]);
    process.stderr.write(`      udp dc2 to dc1: ${r.answer.count} of ${sent} arrived, netdelay dropped ${dropped} of ${received}\n`);
  });

  it('a TCP transfer across the link arrives whole although packets of it were dropped', async () => {
    const before = await stats();
    const size = 4 * 1024 * 1024;
    const r = await probe(a, 'send', c.host, PORT, size);
    const after = await stats();
    assert.deepEqual(r.answer, { bytes: size, sha256: r.sha256 });
    assert.ok(after.dropped > before.dropped, `no packet of ${after.received - before.received} was dropped`);
    process.stderr.write(`      4 MiB dc1 to dc2: netdelay dropped ${after.dropped - before.dropped} of ${after.received - before.received} packets\n`);
  });
});
