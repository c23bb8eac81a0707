// Checksum throughput on a 256 MiB buffer: the addon's CRC-32/SHA-256 against crc-32, zlib.crc32 and node:crypto.
import { createHash, randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as zlib from 'node:zlib';
import * as CRC32 from 'crc-32';
import { Sha256Stream, crc32, crc32Async, crc32Info, crc32WithKernel, sha256Async } from '../native/crc32';

const SIZE = 256 << 20;
const RUNS = 5;

interface Method {
  name: string;
  run: (buf: Buffer) => unknown;
}

async function medianSeconds(run: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)];
}

// Stream updates of 4 MiB, as the read-back verifier feeds it.
async function streamSha(buf: Buffer): Promise<Buffer> {
  const s = new Sha256Stream();
  for (let off = 0; off < buf.length; off += 4 << 20) void s.update(buf.subarray(off, off + (4 << 20)));
  await s.update(Buffer.alloc(0));
  return s.digest();
}

const METHODS: Method[] = [
  { name: `addon crc32 sync (${crc32Info().kernel})`, run: (b) => crc32(b) },
  ...crc32Info()
    .kernels.filter((k) => k.available && k.name !== crc32Info().kernel)
    .map((k): Method => ({ name: `addon crc32 sync, ${k.name} kernel`, run: (b) => crc32WithKernel(k.name, b) })),
  { name: 'addon crc32Async (threadpool)', run: (b) => crc32Async(b) },
  { name: 'npm crc-32 CRC32.buf', run: (b) => CRC32.buf(b) >>> 0 },
  { name: 'zlib.crc32', run: (b) => zlib.crc32(b) },
  { name: 'node:crypto sha256', run: (b) => createHash('sha256').update(b).digest() },
  { name: 'addon sha256Async (OpenSSL EVP)', run: (b) => sha256Async(b) },
  { name: 'addon Sha256Stream (4 MiB updates)', run: (b) => streamSha(b) },
];

/** Prints GB/s (10^9 bytes per second, median of 5) for each method; checks they agree on the value first. */
export async function runCrcBench(): Promise<void> {
  const buf = randomFillSync(Buffer.alloc(SIZE));
  const crc = zlib.crc32(buf);
  if (crc32(buf) !== crc || (await crc32Async(buf)) !== crc || CRC32.buf(buf) >>> 0 !== crc) throw new Error('CRC-32 methods disagree');
  const sha = createHash('sha256').update(buf).digest();
  if (!(await sha256Async(buf)).equals(sha) || !(await streamSha(buf)).equals(sha)) throw new Error('SHA-256 methods disagree');
  console.log(`checksums on a ${SIZE >> 20} MiB buffer, median of ${RUNS} runs`);
  for (const m of METHODS) {
    const seconds = await medianSeconds(() => m.run(buf));
    console.log(`  ${m.name.padEnd(40)} ${(SIZE / seconds / 1e9).toFixed(2).padStart(6)} GB/s`);
  }
}

if (require.main === module) {
  runCrcBench().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
