// Traffic for the link test (link.test.ts), run inside a member's network namespace with `ip netns exec`:
//   serve PORT              TCP: answers each transfer with its size and SHA-256; UDP: counts numbered datagrams
//   connect HOST PORT N     N TCP connects one after another; prints their times in ms
//   send HOST PORT BYTES    one TCP transfer of random bytes; prints their digest and the server's answer
//   udp HOST PORT N         N numbered datagrams, then asks the server what arrived and in which order
// Each client prints one JSON line.
import { createHash, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function serve(port: number): void {
  net.createServer((s) => {
    const hash = createHash('sha256');
    let bytes = 0;
    s.on('data', (b: Buffer) => (hash.update(b), (bytes += b.length)));
    s.on('end', () => s.end(JSON.stringify({ bytes, sha256: hash.digest('hex') })));
    s.on('error', () => undefined); // connect probes reset their connections
  }).listen(port, () => process.stdout.write('listening\n'));
  const udp = dgram.createSocket('udp4');
  let count = 0, last = -1, inOrder = true;
  udp.on('message', (msg, from) => {
    if (msg.length !== 4) return void udp.send(JSON.stringify({ count, inOrder }), from.port, from.address);
    const seq = msg.readUInt32BE(0);
    if (seq <= last) inOrder = false;
    last = seq;
    count++;
  });
  udp.bind(port);
}

async function connectTimes(host: string, port: number, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await new Promise<void>((resolve, reject) => {
      const s = net.connect(port, host, () => (s.destroy(), resolve()));
      s.on('error', reject);
    });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times;
}

async function send(host: string, port: number, size: number): Promise<{ sha256: string; answer: unknown }> {
  const data = randomBytes(size);
  const answer = await new Promise<string>((resolve, reject) => {
    const parts: Buffer[] = [];
    const s = net.connect(port, host, () => s.end(data));
    s.on('data', (b: Buffer) => parts.push(b));
    s.on('end', () => resolve(Buffer.concat(parts).toString()));
    s.on('error', reject);
  });
  return { sha256: createHash('sha256').update(data).digest('hex'), answer: JSON.parse(answer) };
}

/** Paced in bursts so that the receiver's socket buffer, not the link, is never what loses a datagram. */
async function udp(host: string, port: number, n: number): Promise<{ sent: number; answer: unknown }> {
  const s = dgram.createSocket('udp4');
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(i, 0);
    s.send(b, port, host);
    if (i % 20 === 19) await sleep(2);
  }
  // The question and its answer cross the lossy link too: ask until answered.
  const answer = new Promise<string>((resolve) => s.on('message', (m) => resolve(m.toString())));
  for (let i = 0; i < 50; i++) {
    s.send('report', port, host);
    const got = await Promise.race([answer, sleep(500).then(() => null)]);
    if (got) return s.close(), { sent: n, answer: JSON.parse(got) };
  }
  throw new Error('udp: the server never answered');
}

async function main([mode, ...a]: string[]): Promise<void> {
  const out = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);
  if (mode === 'serve') return serve(Number(a[0]));
  if (mode === 'connect') return out(await connectTimes(a[0], Number(a[1]), Number(a[2])));
  if (mode === 'send') return out(await send(a[0], Number(a[1]), Number(a[2])));
  if (mode === 'udp') return out(await udp(a[0], Number(a[1]), Number(a[2])));
  throw new Error(`usage: link-probe serve|connect|send|udp ...`);
}

main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`link-probe: ${(e as Error).message}\n`);
  process.exit(1);
});
