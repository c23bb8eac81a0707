// Runs one `abu install` in this process and prints its wall time and peak RSS as JSON (for the benchmark).
import { main } from '../engine/transports/cli/main';
import { PassThrough } from 'node:stream';

async function run(): Promise<void> {
  const [config, bundle] = process.argv.slice(2);
  const sink = new PassThrough();
  sink.resume();
  const started = process.hrtime.bigint();
  const code = await main(['install', '--config', config, '--json', bundle], { stdin: process.stdin, stdout: sink, stderr: process.stderr, cwd: process.cwd(), env: process.env });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const usage = process.resourceUsage();
  // CPU seconds show whether a run was bound by hashing (CPU) or by the disk; microseconds in resourceUsage.
  process.stdout.write(JSON.stringify({ code, seconds, maxRssKiB: usage.maxRSS, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6 }) + '\n');
  process.exitCode = code;
}

void run();
