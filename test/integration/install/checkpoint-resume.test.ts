// The resume checkpoint: a full (non-adaptive) install killed with SIGKILL at 90 % resumes from its checkpoint,
// re-reading only the checkpointed chunks by CRC32; a chunk changed on the medium is written again; another bundle
// discards the checkpoint. Real CLI processes, a real disk image, real kills.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CheckpointFile, flagsOf } from '../../../engine/install/checkpoint';
import type { LogEvent } from '../../../engine/core/progress';
import { FileSource } from '../../../engine/sources/file-source';
import { readGpt } from '../../../engine/slots/gpt';
import { CHUNK, simBundle } from '../../helpers/adaptive-fixtures';
import { imageBytes } from '../../helpers/bundle-fixtures';
import { simFixture, slotBytes, slotHash, type SimFixture } from '../../helpers/sim-fixture';
import { ABU, cleanEnv } from '../cli/abu-process';

const MIB = 1024 * 1024;
const SIZE = 4 * MIB;
const CHUNKS = SIZE / CHUNK;

describe('resume checkpoint (install.checkpointSeconds)', function () {
  this.timeout(180_000);
  let f: SimFixture;
  let checkpoint: CheckpointFile;
  before(async () => {
    f = await simFixture({ slotSize: 6 * MIB, imageSize: SIZE });
    const config = JSON.parse(await fs.readFile(f.sim.configPath, 'utf8'));
    config.install = { ...config.install, checkpointSeconds: 0.02 };
    await fs.writeFile(f.sim.configPath, JSON.stringify(config));
    checkpoint = new CheckpointFile(path.join(path.dirname(f.sim.configPath), config.stateDir));
  });
  after(async () => f?.cleanup());

  for (const cut of [0.3, 0.6, 0.9]) {
    it(`a full install killed at ${cut * 100} % writes at most ${Math.round((1 - cut) * 100) + 5} % of the image when resumed, and B verifies`, async () => {
      const image = imageBytes(SIZE, `checkpoint ${cut}`);
      const bundle = await simBundle(f.sim, image);
      const aBefore = await slotHash(f.sim, 'A');
      await killAfterCheckpoint(f, bundle, cut);
      const before = (await f.engine.status()).resumable;
      assert.equal(before?.version, '1.1.0', 'status names the resumable install');
      assert.ok(before!.chunksDone >= CHUNKS * cut - 6 && before!.chunks === CHUNKS, `status counts its chunks (${before!.chunksDone} of ${before!.chunks})`);
      const logs = collectLogs(f);
      const resumed = await f.engine.install(new FileSource(bundle), { activate: false, adaptive: false });
      assert.equal((await f.engine.status()).resumable, null);
      const t = resumed.transfer!;
      assert.ok(t, 'a resumed full install reports what it skipped');
      assert.ok(t.fetched <= (1 - cut + 0.05) * SIZE, `the resumed install wrote ${t.fetched} of ${SIZE} bytes (at most ${Math.round((1 - cut) * 100) + 5} %; the goal at 90 % is ≤15 %)`);
      assert.equal(t.fetched + t.skipped, SIZE);
      assert.match(logs.join('\n'), /resuming from the checkpoint: \d+ of \d+ checkpointed chunks/);
      assert.ok((await slotBytes(f.sim, 'B', SIZE)).equals(image), 'B holds the image byte for byte');
      assert.equal((await f.engine.status()).slots.find((s) => s.name === 'B')!.image, 'verified');
      assert.equal(await checkpoint.load(), null, 'a verified install leaves no checkpoint');
      assert.equal(await slotHash(f.sim, 'A'), aBefore, 'the booted slot is never written');
    });
  }

  it('a checkpointed chunk whose bytes changed on the medium is written again, not trusted', async () => {
    const image = imageBytes(SIZE, 'checkpoint changed');
    const bundle = await simBundle(f.sim, image);
    const cp = await killAfterCheckpoint(f, bundle, 0.9);
    const victim = cp.findIndex(Boolean);
    await overwriteSlotB(f, victim * CHUNK + 100, Buffer.from('not what was written'));
    const logs = collectLogs(f);
    const resumed = await f.engine.install(new FileSource(bundle), { activate: false, adaptive: false });
    assert.match(logs.join('\n'), /1 did not and are written again/);
    assert.ok(resumed.transfer!.fetched >= CHUNK, 'the changed chunk was written again');
    assert.ok((await slotBytes(f.sim, 'B', SIZE)).equals(image), 'B holds the image byte for byte');
  });

  it('an adaptive install killed at 90 % resumes from the checkpoint too (its chunks re-read by CRC32, not scanned)', async () => {
    const image = imageBytes(SIZE, 'checkpoint adaptive');
    const bundle = await simBundle(f.sim, image);
    await killAfterCheckpoint(f, bundle, 0.9, true);
    const logs = collectLogs(f);
    const resumed = await f.engine.install(new FileSource(bundle), { activate: false, adaptive: true });
    const t = resumed.transfer!;
    assert.ok(t.fetched + t.copied <= 0.15 * SIZE, `the resumed install wrote ${t.fetched + t.copied} of ${SIZE} bytes (goal ≤15 %)`);
    const lines = logs.join('\n');
    const resumedChunks = Number(/resuming from the checkpoint: (\d+) of/.exec(lines)?.[1]);
    assert.ok(resumedChunks >= CHUNKS * 0.8, `the checkpoint gave ${resumedChunks} chunks`);
    assert.ok((await slotBytes(f.sim, 'B', SIZE)).equals(image), 'B holds the image byte for byte');
  });

  it('another bundle discards the checkpoint and writes every chunk', async () => {
    const first = await simBundle(f.sim, imageBytes(SIZE, 'checkpoint first'));
    await killAfterCheckpoint(f, first, 0.9);
    const other = imageBytes(SIZE, 'checkpoint other');
    const logs = collectLogs(f);
    const result = await f.engine.install(new FileSource(await simBundle(f.sim, other)), { activate: false, adaptive: false });
    assert.match(logs.join('\n'), /discarding the resume checkpoint of another install/);
    assert.equal(result.transfer, undefined, 'nothing was skipped');
    assert.ok((await slotBytes(f.sim, 'B', SIZE)).equals(other));
    assert.equal(await checkpoint.load(), null);
  });

  /** Runs `abu install --direct [--no-adaptive] -` fed `cut` of the bundle, kills it once the checkpoint covers most of that, returns the checkpoint's chunks. */
  async function killAfterCheckpoint(fx: SimFixture, bundle: string, cut: number, adaptive = false): Promise<boolean[]> {
    const bytes = await fs.readFile(bundle);
    await checkpoint.clear();
    const child = spawn(process.execPath, [ABU, '--config', fx.sim.configPath, 'install', '--direct', '--no-activate', ...(adaptive ? [] : ['--no-adaptive']), '-'], { env: cleanEnv(), stdio: ['pipe', 'ignore', 'ignore'] });
    child.stdin.on('error', () => undefined);
    child.stdin.write(bytes.subarray(0, Math.floor(bytes.length * cut)));
    const want = Math.floor(CHUNKS * cut) - 4;
    let flags: boolean[] = [];
    const end = Date.now() + 60_000;
    for (;;) {
      const cp = await checkpoint.load();
      flags = cp ? flagsOf(cp.images[0].done, cp.images[0].chunks) : [];
      if (flags.filter(Boolean).length >= want) break;
      if (Date.now() > end) throw new Error(`the checkpoint never reached ${want} chunks (it has ${flags.filter(Boolean).length})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGKILL');
    await once(child, 'close');
    assert.equal((await fx.engine.status()).slots.find((s) => s.name === 'B')!.image, 'incomplete', 'B is incomplete after the kill');
    return flags;
  }
});

function collectLogs(f: SimFixture): string[] {
  const lines: string[] = [];
  const off = f.engine.subscribe({ progress: () => undefined, log: (e: LogEvent) => lines.push(e.message) });
  setTimeout(off, 60_000).unref();
  return lines;
}

async function overwriteSlotB(f: SimFixture, at: number, bytes: Buffer): Promise<void> {
  const part = (await readGpt(f.sim.diskImage)).find((p) => p.number === 3)!;
  const fh = await fs.open(f.sim.diskImage, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, part.offset + at);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
