// Install benchmark: `abu install --direct` as a user runs it vs dd on the same target in the same rounds, with and without read-back.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createBundle } from '../engine/bundle/bundle-writer';
import { keyId } from '../engine/bundle/keyring';
import { writeDemoImage } from '../engine/sim/demo-image';
import { initializeBootEnv, writeFwEnvConfig } from '../engine/sim/sim-boot-env';
import { availableParallelism } from 'node:os';
import { sha256Async } from '../native/crc32';
import { benchRoot, machineLine, median, runMeasured, timeCommand, type ProcessRun } from './process-run';

const MIB = 1024 * 1024;

interface Row {
  size: string;
  target: string;
  /** Medians over the rounds; ratios are medians of each round's own quotient. */
  ddWrite: number;
  ddRead: number;
  abu: number;
  /** abu with read-back / (dd write + dd read back of the same bytes). */
  ratio: number;
  abuNoReadback: number;
  /** abu without read-back / dd write. */
  noReadbackRatio: number;
  cpuSeconds: number;
  rssMiB: number;
  /** Largest peak RSS of any run. */
  maxRssMiB: number;
  /** The least time this machine allows without read-back: max(dd write, bytes / SHA-256 rate on every core). */
  boundNoReadback: number;
  /** With read-back: that, then dd reading the bytes back (the read-back follows the fdatasync; it cannot overlap the writes). */
  boundReadback: number;
}

interface Round {
  ddWrite: number;
  ddRead: number;
  rb: ProcessRun;
  nrb: ProcessRun;
}

/** Rounds per target (ABU_BENCH_RUNS, default 3): the machine is shared, so one run says little. */
const ROUNDS = Math.max(1, Number(process.env.ABU_BENCH_RUNS ?? 3));

export async function runInstallBench(sizesMiB = [256, 1024]): Promise<Row[]> {
  const hashRate = await sha256Rate();
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
        rows.push(await benchTarget(dir, image, bundle, mib, target, hashRate));
        await fs.rm(path.join(dir, 'target.img'), { force: true });
      }
      await fs.rm(image);
      await fs.rm(bundle);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  printRows(rows, hashRate);
  return rows;
}

async function benchTarget(dir: string, image: string, bundle: string, mib: number, kind: 'file' | 'loop', hashRate: number): Promise<Row> {
  const file = path.join(dir, 'target.img');
  await fs.writeFile(file, '');
  await fs.truncate(file, (mib + 4) * MIB);
  const device = kind === 'loop' ? execFileSync('losetup', ['-f', '--show', file]).toString().trim() : file;
  const ddWrite = ['dd', [`if=${image}`, `of=${device}`, 'bs=4M', 'oflag=direct', 'conv=fsync,notrunc', 'status=none']] as const;
  // The read-back baseline reads exactly the image's bytes back from the target, as abu's read-back does.
  const ddRead = ['dd', [`if=${device}`, 'of=/dev/null', 'bs=4M', 'iflag=direct', `count=${mib / 4}`, 'status=none']] as const;
  try {
    // One dd first allocates the file's blocks, so every measured round writes over existing blocks.
    timeCommand(...ddWrite);
    const configs = { rb: await writeBenchConfig(dir, device, true, 'rb'), nrb: await writeBenchConfig(dir, device, false, 'nrb') };
    const rounds: Round[] = [];
    // Interleaved rounds: dd and both abu modes see the same machine load within a round.
    for (let i = 0; i < ROUNDS; i++) {
      rounds.push({ ddWrite: timeCommand(...ddWrite), ddRead: timeCommand(...ddRead), rb: await abuInstall(dir, configs.rb, bundle), nrb: await abuInstall(dir, configs.nrb, bundle) });
    }
    const runs = rounds.flatMap((r) => [r.rb, r.nrb]);
    const hashSeconds = (mib * MIB) / hashRate;
    const ddWriteMedian = median(rounds.map((r) => r.ddWrite));
    return {
      size: `${mib} MiB`, target: kind === 'loop' ? 'loop device' : 'regular file',
      ddWrite: median(rounds.map((r) => r.ddWrite)),
      ddRead: median(rounds.map((r) => r.ddRead)),
      abu: median(rounds.map((r) => r.rb.seconds)),
      ratio: median(rounds.map((r) => r.rb.seconds / (r.ddWrite + r.ddRead))),
      abuNoReadback: median(rounds.map((r) => r.nrb.seconds)),
      noReadbackRatio: median(rounds.map((r) => r.nrb.seconds / r.ddWrite)),
      cpuSeconds: median(rounds.map((r) => r.rb.cpuSeconds)),
      rssMiB: median(runs.map((r) => r.maxRssKiB)) / 1024,
      maxRssMiB: Math.max(...runs.map((r) => r.maxRssKiB)) / 1024,
      boundNoReadback: Math.max(ddWriteMedian, hashSeconds),
      boundReadback: Math.max(ddWriteMedian, hashSeconds) + median(rounds.map((r) => r.ddRead)),
    };
  } finally {
    if (kind === 'loop') execFileSync('losetup', ['-d', device]);
  }
}

/** bin/abu in its own process, start-up included: what a user waits for. */
async function abuInstall(dir: string, configPath: string, bundle: string): Promise<ProcessRun> {
  await fs.rm(path.join(dir, `state-${path.basename(configPath, '.json')}`), { recursive: true, force: true });
  await initializeBootEnv(configPath);
  return runMeasured(process.execPath, [path.join(benchRoot(), 'bin', 'abu'), 'install', '--direct', '--config', configPath, bundle], 'abu install');
}

async function writeBenchConfig(dir: string, device: string, readBack: boolean, name: string): Promise<string> {
  const a = path.join(dir, 'slot-a.img');
  await fs.writeFile(a, Buffer.alloc(MIB));
  const envFile = path.join(dir, 'uboot.env');
  await fs.writeFile(envFile, Buffer.alloc(0x8000));
  await writeFwEnvConfig(path.join(dir, 'fw_env.config'), envFile, 0, true);
  const config = {
    product: 'bench', keyring: 'keys', stateDir: `state-${name}`,
    slots: [{ name: 'A', device: a }, { name: 'B', device }],
    bootedSlot: { fixed: 'A' },
    bootloader: { kind: 'uboot', options: { fwEnvConfig: 'fw_env.config' } },
    policy: { strictChain: false, allowDowngrade: true },
    // Full installs: every round writes every chunk (an adaptive install would keep what the last round wrote).
    install: { readBack, activate: true, adaptive: false },
    reboot: { simulated: true },
  };
  const configPath = path.join(dir, `${name}.json`);
  await fs.writeFile(configPath, JSON.stringify(config));
  return configPath;
}

/**
 * Bytes per second SHA-256 reaches on every core at once (the addon's threadpool hashing, 4 MiB buffers, best of 5
 * half-second tries): an install hashes each byte once before writing it, so no install can beat bytes / this rate.
 */
async function sha256Rate(): Promise<number> {
  const cores = availableParallelism();
  const buf = Buffer.alloc(4 * MIB, 0x5a);
  let best = 0;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    let bytes = 0;
    const worker = async () => {
      while (performance.now() - started < 500) bytes += (await sha256Async(buf), buf.length);
    };
    await Promise.all(Array.from({ length: cores }, worker));
    best = Math.max(best, bytes / ((performance.now() - started) / 1000));
  }
  return best;
}

function printRows(rows: Row[], hashRate: number): void {
  console.log(`\ninstall benchmark: bin/abu of ${benchRoot()}, medians of ${ROUNDS} interleaved rounds; ratios are medians of each round's quotient`);
  console.log('  with read-back: abu / (dd bs=4M oflag=direct conv=fsync + dd iflag=direct reading the same bytes back); without: abu / that dd write');
  console.log(machineLine());
  console.log(`  bound: the least time the machine allows, max(dd write, bytes / SHA-256 of ${availableParallelism()} cores together, ${(hashRate / 1e9).toFixed(2)} GB/s in this run) (+ dd read with read-back); node's own start is not in it`);
  console.log('size      target        dd-w s dd-r s | abu s   MiB/s  ratio  cpu s | no-readback s  ratio | peak RSS MiB (max) | bound rb s  ratio | bound nrb s  ratio');
  for (const r of rows) {
    const mib = Number(r.size.split(' ')[0]);
    const f = (n: number, w: number) => n.toFixed(2).padStart(w);
    console.log(
      `${r.size.padEnd(9)} ${r.target.padEnd(13)} ${f(r.ddWrite, 6)} ${f(r.ddRead, 6)} | ${f(r.abu, 5)} ${(mib / r.abu).toFixed(0).padStart(6)} ${f(r.ratio, 5)}x ${f(r.cpuSeconds, 6)} | ${f(r.abuNoReadback, 13)} ${f(r.noReadbackRatio, 5)}x | ${r.rssMiB.toFixed(0).padStart(5)} (${r.maxRssMiB.toFixed(0)}) | ${f(r.boundReadback, 10)} ${f(r.boundReadback / (r.ddWrite + r.ddRead), 5)}x | ${f(r.boundNoReadback, 11)} ${f(r.boundNoReadback / r.ddWrite, 5)}x`,
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

/** One `abu install --direct` of `bundle` into a fresh bench appliance on `device` (for the other benches). */
export async function abuInstallOn(dir: string, device: string, bundle: string, readBack: boolean): Promise<ProcessRun> {
  return abuInstall(dir, await writeBenchConfig(dir, device, readBack, readBack ? 'rb' : 'nrb'), bundle);
}
