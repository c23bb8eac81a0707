// An install killed (SIGKILL) part-way resumes where it stopped: the chunks the killed run wrote are verified on the
// medium and kept, the target stays unbootable and unverified until a whole run verified every chunk.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import { FileSource } from '../../../engine/sources/file-source';
import { CHUNK, simBundle } from '../../helpers/adaptive-fixtures';
import { imageBytes } from '../../helpers/bundle-fixtures';
import { simFixture, slotBytes, slotHash, type SimFixture } from '../../helpers/sim-fixture';
import { ABU, cleanEnv } from '../cli/abu-process';

const MIB = 1024 * 1024;

describe('an install killed with SIGKILL, then resumed', function () {
  this.timeout(180_000);
  let f: SimFixture;
  before(async () => {
    f = await simFixture({ slotSize: 6 * MIB, imageSize: 4 * MIB });
  });
  after(async () => f?.cleanup());

  // One appliance: each kill point installs an image B holds nothing of (B held the previous point's image).
  for (const cut of [0.3, 0.6, 0.9]) {
    it(`killed at ${cut * 100} % of the bundle: the resumed install keeps what was written and verifies the rest`, () => killedThenResumed(f, cut));
  }
});

async function killedThenResumed(f: SimFixture, cut: number): Promise<void> {
  const image = imageBytes(4 * MIB, `killed at ${cut}`);
  const bundle = await simBundle(f.sim, image);
  const bytes = await fs.readFile(bundle);
  const head = bytes.length - image.length;
  const aBefore = await slotHash(f.sim, 'A');
  // The CLI reads the bundle from a pipe that delivers only `cut` of it, so it is mid-install when killed.
  const child = spawn(process.execPath, [ABU, '--config', f.sim.configPath, 'install', '--direct', '--no-activate', '-'], { env: cleanEnv(), stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.on('error', () => undefined);
  child.stdin.write(bytes.subarray(0, Math.floor(bytes.length * cut)));
  // Wait until a chunk well before the cut is on the medium (chunks in flight may still be arriving), then kill.
  const landed = Math.floor((bytes.length * cut - head) / CHUNK) - 4;
  await until(async () => (await slotBytes(f.sim, 'B', (landed + 1) * CHUNK)).subarray(landed * CHUNK).equals(image.subarray(landed * CHUNK, (landed + 1) * CHUNK)));
  child.kill('SIGKILL');
  await once(child, 'close');

  const b = (await f.engine.status()).slots.find((s) => s.name === 'B')!;
  assert.equal(b.image, 'incomplete', 'B is recorded as incomplete after the kill');
  assert.equal(b.state, 'bad', 'and cannot boot');
  const resumed = await f.engine.install(new FileSource(bundle), { activate: false });
  const t = resumed.transfer!;
  assert.ok(t.skipped >= (landed + 1) * CHUNK, `kept what the killed run wrote (${t.skipped} bytes, at least ${(landed + 1) * CHUNK})`);
  assert.equal(t.skipped + t.fetched + t.copied, image.length);
  assert.ok((await slotBytes(f.sim, 'B', image.length)).equals(image), 'B holds the image byte for byte');
  assert.equal((await f.engine.status()).slots.find((s) => s.name === 'B')!.image, 'verified');
  assert.equal(await slotHash(f.sim, 'A'), aBefore, 'the booted slot is never written');
}

async function until(check: () => Promise<boolean>, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('the killed install never wrote the chunk it was waiting for');
    await new Promise((r) => setTimeout(r, 50));
  }
}
