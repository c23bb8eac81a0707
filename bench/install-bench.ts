// Install benchmark: abu install vs `dd bs=4M oflag=direct conv=fsync` on the same target in the same run.
import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createBundle } from '../engine/bundle/bundle-writer';
import { keyId } from '../engine/bundle/keyring';
import { writeDemoImage } from '../engine/sim/demo-image';
import { initializeBootEnv, writeFwEnvConfig } from '../engine/sim/sim-boot-env';

const MIB = 1024 * 1024;

interface Row {
  size: string;
  target: string;
  /** Medians over the rounds; ratios are medians of each round's own abu/dd quotient. */
  ddSeconds: number;
  abuSeconds: number;
  ratio: number;
  abuNoReadbackSeconds: number;
  noReadbackRatio: number;
  cpuSeconds: number;
  rssMiB: number;
  /** Largest peak RSS of any run. */
  maxRssMiB: number;
}

interface Run {
  seconds: number;
  maxRssKiB: number;
  cpuSeconds: number;
}

/** Rounds per target (ABU_BENCH_RUNS, default 5): the machine is shared, so one run says little. */
const ROUNDS = Math.max(1, Number(process.env.ABU_BENCH_RUNS ?? 5));

export async function runInstallBench(sizesMiB = [256, 1024]): Promise<Row[]> {
  const dir = await fs.mkdtemp(path.join(process.env.ABU_BENCH_DIR ?? '/var/tmp', 'abu-bench-'));
  const rows: Row[] = [];
  try {
    const key = generateKeyPairSync('ed25519');
    await fs.mkdir(path.join(dir, 'keys'));
    await fs.writeFile(path.join(dir, 'keys', `${keyId(key.publicKey)}.pub`), key.publicKey.export({ type: 'spki', format: 'pem' }));
    for (const mib of sizesMiB) {
      const image = path.join(dir, `image-${mib}.img`);
      await writeDemoImage(image, { version: `bench-${mib}`, size: mib * MIB });
      const bundle = path.join(dir, `bundle-${mib}.abu`);
      await createBundle({ images: [{ name: 'rootfs', slotClass: 'rootfs', path: image }], product: 'bench', version: '2.0.0', buildTime: 1, keys: [key.privateKey] }, bundle);
      for (const target of ['file', 'loop'] as const) {
        if (target === 'loop' && process.getuid?.() !== 0) continue;
        rows.push(await benchTarget(dir, image, bundle, mib, target));
        await fs.rm(path.join(dir, 'target.img'), { force: true });
      }
      await fs.rm(image);
      await fs.rm(bundle);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  printRows(rows);
  return rows;
}

async function benchTarget(dir: string, image: string, bundle: string, mib: number, kind: 'file' | 'loop'): Promise<Row> {
  const file = path.join(dir, 'target.img');
  await fs.writeFile(file, '');
  await fs.truncate(file, (mib + 4) * MIB);
  const device = kind === 'loop' ? execFileSync('losetup', ['-f', '--show', file]).toString().trim() : file;
  try {
    // One dd first allocates the file's blocks, so every measured round writes over existing blocks.
    execFileSync('dd', [`if=${image}`, `of=${device}`, 'bs=4M', 'oflag=direct', 'conv=fsync,notrunc', 'status=none']);
    const rounds: Array<{ dd: number; rb: Run; nrb: Run }> = [];
    // Interleaved rounds: dd and both abu modes see the same machine load within a round.
    for (let i = 0; i < ROUNDS; i++) {
      const dd = timeIt(() => execFileSync('dd', [`if=${image}`, `of=${device}`, 'bs=4M', 'oflag=direct', 'conv=fsync,notrunc', 'status=none']));
      rounds.push({ dd, rb: await abuInstall(dir, device, bundle, true), nrb: await abuInstall(dir, device, bundle, false) });
    }
    const runs = rounds.flatMap((r) => [r.rb, r.nrb]);
    return {
      size: `${mib} MiB`, target: kind === 'loop' ? 'loop device' : 'regular file',
      ddSeconds: median(rounds.map((r) => r.dd)),
      abuSeconds: median(rounds.map((r) => r.rb.seconds)),
      ratio: median(rounds.map((r) => r.rb.seconds / r.dd)),
      abuNoReadbackSeconds: median(rounds.map((r) => r.nrb.seconds)),
      noReadbackRatio: median(rounds.map((r) => r.nrb.seconds / r.dd)),
      cpuSeconds: median(rounds.map((r) => r.rb.cpuSeconds)),
      rssMiB: median(runs.map((r) => r.maxRssKiB)) / 1024,
      maxRssMiB: Math.max(...runs.map((r) => r.maxRssKiB)) / 1024,
    };
  } finally {
    if (kind === 'loop') execFileSync('losetup', ['-d', device]);
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function abuInstall(dir: string, device: string, bundle: string, readBack: boolean): Promise<Run> {
  const configPath = await writeBenchConfig(dir, device, readBack);
  const child = spawnSync(process.execPath, [path.join(__dirname, 'install-child.js'), configPath, bundle], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const out = JSON.parse(child.stdout.trim().split('\n').pop()!);
  if (out.code !== 0) throw new Error(`abu install failed in the benchmark (exit ${out.code})`);
  return out;
}

async function writeBenchConfig(dir: string, device: string, readBack: boolean): Promise<string> {
  const a = path.join(dir, 'slot-a.img');
  await fs.writeFile(a, Buffer.alloc(MIB));
  const envFile = path.join(dir, 'uboot.env');
  await fs.writeFile(envFile, Buffer.alloc(0x8000));
  await writeFwEnvConfig(path.join(dir, 'fw_env.config'), envFile, 0, true);
  const config = {
    product: 'bench', keyring: 'keys', stateDir: 'state',
    slots: [{ name: 'A', device: a }, { name: 'B', device }],
    bootedSlot: { fixed: 'A' },
    bootloader: { kind: 'uboot', options: { fwEnvConfig: 'fw_env.config' } },
    policy: { strictChain: false, allowDowngrade: true },
    // Full installs: every round writes every chunk (an adaptive install would keep what the last round wrote).
    install: { readBack, activate: true, adaptive: false },
    reboot: { simulated: true },
  };
  await fs.rm(path.join(dir, 'state'), { recursive: true, force: true });
  const configPath = path.join(dir, 'config.json');
  await fs.writeFile(configPath, JSON.stringify(config));
  await initializeBootEnv(configPath);
  return configPath;
}

function timeIt(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

function printRows(rows: Row[]): void {
  console.log(`\ninstall benchmark: medians of ${ROUNDS} interleaved rounds (ratio = abu wall time / dd wall time on the same target, same round)`);
  console.log(`cpu: ${os.cpus()[0]?.model} x${os.cpus().length}; load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other work on the machine inflates the ratios)`);
  console.log('size      target         dd s    MiB/s | abu s   MiB/s  ratio  cpu s | abu no-readback s  ratio | peak RSS MiB (max)');
  for (const r of rows) {
    const mib = Number(r.size.split(' ')[0]);
    console.log(
      `${r.size.padEnd(9)} ${r.target.padEnd(13)} ${r.ddSeconds.toFixed(2).padStart(6)} ${(mib / r.ddSeconds).toFixed(0).padStart(7)} | ${r.abuSeconds.toFixed(2).padStart(5)} ${(mib / r.abuSeconds).toFixed(0).padStart(6)} ${r.ratio.toFixed(2).padStart(5)}x ${r.cpuSeconds.toFixed(2).padStart(6)} | ${r.abuNoReadbackSeconds.toFixed(2).padStart(17)} ${r.noReadbackRatio.toFixed(2).padStart(5)}x | ${r.rssMiB.toFixed(0).padStart(5)} (${r.maxRssMiB.toFixed(0)})`,
    );
  }
}

if (require.main === module) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  runInstallBench(sizes.length ? sizes : undefined).catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
