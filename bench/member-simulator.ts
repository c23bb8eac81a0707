// Member simulator (benchmark only, not an appliance): N lightweight site members in one process, each an HTTP
// server on its own loopback port answering what a coordinator asks of a member: status, replica state, replica
// upload (bytes counted, NOT verified: a simulator), forward (done at once inside this process: the bytes a primary
// forwards never pass the coordinator), remove, history. Lets one coordinator be measured tracking hundreds of members.
// Usage: node member-simulator.js COUNT  → prints {"ports":[...]} once every member listens; SIGTERM stops it.
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
  if (req.method === 'POST' && url === '/api/site/peer/forward') {
    let text = '';
    req.on('data', (b: Buffer) => (text += b));
    req.on('end', () => {
      const { sha256, to } = JSON.parse(text) as { sha256: string; to: string };
      const own = members[i].get(sha256)!;
      const target = Number(/^sim-(\d+)$/.exec(to)?.[1]) - 1;
      members[target].set(sha256, { have: own.size, size: own.size });
      reply({ offset: 0, sent: own.size, state: state(target, sha256) });
    });
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code: 'ABU_ERR_NOT_FOUND', message: `the member simulator has no ${req.method} ${url}` }));
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 499);
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    members.push(new Map());
    const server = http.createServer((req, res) => handle(i, req, res));
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as AddressInfo).port);
  }
  process.stdout.write(JSON.stringify({ ports }) + '\n');
  process.on('SIGTERM', () => process.exit(0));
}

void main();
