// Member simulator (benchmark only, not an appliance): N lightweight site members in one process, each an HTTP
// server on its own loopback port answering what a coordinator asks of a member: status, replica state, replica
// upload (bytes counted, NOT verified: a simulator), pull (a data center's primary fetches the bytes from the
// coordinator over HTTP with its site token; the others copy from their simulated primary inside this process once it
// holds them: bytes a primary serves never pass the coordinator), remove, history. Lets one coordinator be measured
// tracking hundreds of members. Member k is site member k (the coordinator is 0); every PER_DC-th member is a primary.
// Usage: node member-simulator.js COUNT COORDINATOR_URL PER_DC → prints {"ports":[...]} once every member listens.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Replica {
  have: number;
  size: number;
}

const members: Map<string, Replica>[] = [];

const STATUS = JSON.stringify({
  product: 'abu-demo-appliance', booted: 'A', alternate: 'B', floor: null, operation: null, lock: null, pending: null, lastError: null,
  slots: [
    { name: 'A', device: 'sim', version: '1.0.0', description: 'simulated member', irreversible: false, state: 'good', triesLeft: 0, booted: true, primary: true, image: 'verified' },
    { name: 'B', device: 'sim', version: null, description: null, irreversible: false, state: 'good', triesLeft: 0, booted: false, primary: false, image: 'empty' },
  ],
});

function state(i: number, sha: string): object {
  const r = members[i].get(sha);
  if (!r) return { sha256: sha, state: 'absent', have: 0, size: null };
  return { sha256: sha, state: r.have === r.size ? 'verified' : 'partial', have: r.have, size: r.size };
}

function handle(i: number, req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = req.url ?? '';
  const reply = (body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
  const replica = /^\/api\/site\/peer\/replicas\/([0-9a-f]{64})$/.exec(url);
  if (req.method === 'GET' && url === '/api/status') return reply(STATUS);
  if (req.method === 'GET' && url.startsWith('/api/history')) return reply({ entries: [] });
  if (replica && req.method === 'GET') return reply(state(i, replica[1]));
  if (replica && req.method === 'DELETE') return reply({ removed: members[i].delete(replica[1]) });
  if (replica && req.method === 'PUT') {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range']));
    const r = members[i].get(replica[1]) ?? { have: 0, size: Number(m?.[3] ?? 0) };
    members[i].set(replica[1], r);
    req.on('data', (b: Buffer) => (r.have += b.length));
    req.on('end', () => reply(state(i, replica[1])));
    return;
  }
  const pull = /^\/api\/site\/peer\/replicas\/([0-9a-f]{64})\/pull$/.exec(url);
  if (pull && req.method === 'POST') {
    let text = '';
    req.on('data', (b: Buffer) => (text += b));
    req.on('end', () => void pullFromSource(i, pull[1], (JSON.parse(text) as { size: number }).size).then(
      (received) => reply({ offset: 0, received, state: state(i, pull[1]) }),
      (e: Error) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'ABU_ERR_SITE_MEMBER_UNREACHABLE', message: e.message }));
      },
    ));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code: 'ABU_ERR_NOT_FOUND', message: `the member simulator has no ${req.method} ${url}` }));
}

const COORDINATOR_URL = process.argv[3] ?? 'http://127.0.0.1:1';
const PER_DC = Number(process.argv[4] ?? 10);

/** Simulated member i is site member i + 1: a primary fetches from the coordinator, the others from their primary. */
async function pullFromSource(i: number, sha: string, size: number): Promise<number> {
  const r: Replica = { have: 0, size };
  members[i].set(sha, r);
  // The coordinator is the source of every primary and of the members of its own data center.
  if ((i + 1) % PER_DC === 0 || i + 1 < PER_DC) {
    const res = await fetch(`${COORDINATOR_URL}/api/site/peer/replicas/${sha}/content`, { headers: { authorization: `Bearer simulated-member-${i + 1}` } });
    if (res.status !== 206 || !res.body) throw new Error(`the coordinator answered HTTP ${res.status}`);
    for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) r.have += piece.length;
    return r.have;
  }
  const primary = Math.floor((i + 1) / PER_DC) * PER_DC - 1;
  for (;;) {
    const own = members[primary].get(sha);
    if (own && own.have === size) return (r.have = size);
    await new Promise((done) => setTimeout(done, 20));
  }
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 499);
  const ports: number[] = [];
  // The coordinator's port is reserved but not yet bound: the kernel may hand it out again here.
  const reserved = Number(new URL(COORDINATOR_URL).port);
  const held: http.Server[] = [];
  for (let i = 0; i < count; i++) {
    members.push(new Map());
    const server = http.createServer((req, res) => handle(i, req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    if (port === reserved) {
      held.push(server);
      i--;
      members.pop();
      continue;
    }
    ports.push(port);
  }
  for (const server of held) server.close();
  process.stdout.write(JSON.stringify({ ports }) + '\n');
  process.on('SIGTERM', () => process.exit(0));
}

void main();
