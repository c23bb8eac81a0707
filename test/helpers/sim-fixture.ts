// Test helpers around the simulated appliance: a small one per test, slot hashes, sources from buffers.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { createSimAppliance, type SimAppliance } from '../../engine/sim/create-sim-appliance';
import { createEngine, type AbuEngine } from '../../engine/engine';
import { readGpt } from '../../engine/slots/gpt';
import type { ImageSource } from '../../engine/sources/image-source';
import { tempDir } from './bundle-fixtures';

export interface SimFixture {
  sim: SimAppliance;
  engine: AbuEngine;
  cleanup: () => Promise<void>;
}

const MIB = 1024 * 1024;

/** A small simulated appliance (4 MiB slots, 3 MiB images) and an engine on it. */
export async function simFixture(o: { slotSize?: number; imageSize?: number } = {}): Promise<SimFixture> {
  const { dir, cleanup } = await tempDir('abu-sim-');
  const sim = await createSimAppliance(dir, { slotSize: o.slotSize ?? 4 * MIB, imageSize: o.imageSize ?? 3 * MIB });
  const engine = await createEngine(sim.configPath);
  return { sim, engine, cleanup: async () => { await engine.close(); await cleanup(); } };
}

/** SHA-256 of a slot partition's bytes in the disk image (to prove a slot was or was not touched). */
export async function slotHash(sim: SimAppliance, slot: 'A' | 'B'): Promise<string> {
  const part = (await readGpt(sim.diskImage)).find((p) => p.number === (slot === 'A' ? 2 : 3))!;
  const fh = await fs.open(sim.diskImage, 'r');
  try {
    const hash = createHash('sha256');
    const buf = Buffer.alloc(MIB);
    for (let at = 0; at < part.size; at += buf.length) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, part.size - at), part.offset + at);
      hash.update(buf.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    await fh.close();
  }
}

/** Bytes of a slot partition, first `length` bytes. */
export async function slotBytes(sim: SimAppliance, slot: 'A' | 'B', length: number): Promise<Buffer> {
  const part = (await readGpt(sim.diskImage)).find((p) => p.number === (slot === 'A' ? 2 : 3))!;
  const fh = await fs.open(sim.diskImage, 'r');
  try {
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, part.offset);
    return buf;
  } finally {
    await fh.close();
  }
}

/** An ImageSource serving a buffer in pieces; optionally erroring or stalling after `failAt` bytes. */
export function bufferSource(bytes: Buffer, o: { failAt?: number; mode?: 'error' | 'stall'; piece?: number } = {}): ImageSource {
  return {
    description: `test buffer (${bytes.length} bytes)`,
    sizeHint: bytes.length,
    async open() {
      let at = 0;
      const piece = o.piece ?? 64 * 1024;
      return new Readable({
        read() {
          if (o.failAt !== undefined && at >= o.failAt) {
            if (o.mode === 'error') this.destroy(new Error('connection reset by peer'));
            return; // stall: never push again
          }
          if (at >= bytes.length) return void this.push(null);
          const end = Math.min(bytes.length, at + piece, o.failAt ?? Infinity);
          this.push(bytes.subarray(at, end));
          at = end;
        },
      });
    },
  };
}
