// Serves one bundle file over HTTP with Range in its own process (for the adaptive benchmark); prints its URL, then
// answers each stdin line with the body bytes sent so far and the requests seen, as JSON. argv: file, then
// 'ignore-range' or '-', then optionally the link's pace in Mbit/s (every body shares it).
import { createInterface } from 'node:readline';
import { startRangeServer } from '../test/helpers/range-server';

const mbit = Number(process.argv[4] ?? 0);
startRangeServer(process.argv[2], { ignoreRange: process.argv[3] === 'ignore-range', ...(mbit > 0 ? { bytesPerSecond: (mbit * 1e6) / 8 } : {}) }).then(
  (server) => {
    process.stdout.write(JSON.stringify({ url: server.url }) + '\n');
    createInterface({ input: process.stdin }).on('line', () => process.stdout.write(JSON.stringify({ bytesSent: server.bytesSent, requests: server.requests.length }) + '\n'));
  },
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
