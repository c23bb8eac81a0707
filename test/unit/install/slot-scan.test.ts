// scanSlots on real O_DIRECT files: one read-and-verify job per chunk, the whole idle pool in flight, the right verdicts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { ImageEntry } from '../../../engine/bundle/manifest';
import { BufferPool } from '../../../engine/install/buffer-pool';
import { scanSlots } from '../../../engine/install/slot-scan';
import { BlockFileSlotHandle } from '../../../engine/slots/block-file-slot-handle';
import type { SlotHandle } from '../../../engine/slots/slot-store';

const CHUNK = 64 * 1024;
const CHUNKS = 24;
const sha = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

function entryOf(image: Buffer): ImageEntry {
  const pieces = Array.from({ length: Math.ceil(image.length / CHUNK) }, (_, i) => image.subarray(i * CHUNK, (i + 1) * CHUNK));
  return { name: 'rootfs', slotClass: 'rootfs', size: image.length, chunkSize: CHUNK, chunkCrc32: pieces.map((p) => zlib.crc32(p)), chunkSha256: pieces.map(sha), sha256: sha(image), offset: 0, compression: 'none' };
}

/** Counts the slot's calls and the most reads in flight at once; the seam is wrapped only to watch it, I/O stays real. */
function watched(inner: SlotHandle): SlotHandle & { calls: Record<string, number>; maxInFlight: number } {
  let inFlight = 0;
  const w = Object.assign(Object.create(inner) as SlotHandle, { calls: {} as Record<string, number>, maxInFlight: 0 });
  for (const name of ['read', 'readVerify'] as const) {
    (w as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      w.calls[name] = (w.calls[name] ?? 0) + 1;
      w.maxInFlight = Math.max(w.maxInFlight, ++inFlight);
      try {
        return await (inner[name] as (...a: unknown[]) => Promise<unknown>).apply(inner, args);
      } finally {
        inFlight--;
      }
    };
  }
  return w;
}

describe('adaptive slot scan', () => {
  let dir: string;
  const handles: SlotHandle[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'abu-scan-'));
  });
  afterEach(async () => {
    await Promise.all(handles.splice(0).map((h) => h.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function slot(name: string, bytes: Buffer, write: boolean): Promise<SlotHandle> {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    const h = await BlockFileSlotHandle.open({ slot: name === 'a.img' ? 'A' : 'B', slotClass: 'rootfs', device: file, offset: 0, size: bytes.length }, write);
    handles.push(h);
    return h;
  }

  it('keeps what the target holds with one read-and-verify job per chunk, every idle pool buffer in flight', async () => {
    const image = randomBytes(CHUNKS * CHUNK);
    const onTarget = Buffer.from(image);
    for (const i of [3, 10]) randomBytes(CHUNK).copy(onTarget, i * CHUNK);
    onTarget[17 * CHUNK + 5] ^= 1; // chunk 17: one bit off
    const target = watched(await slot('b.img', onTarget, true));
    const pool = new BufferPool(CHUNK, 3);
    const scan = await scanSlots(entryOf(image), target, null, pool);
    assert.deepEqual(scan.targetHolds.flatMap((h, i) => (h ? [] : [i])), [3, 10, 17]);
    assert.deepEqual(target.calls, { readVerify: CHUNKS }, 'one job per chunk, no separate read');
    assert.equal(target.maxInFlight, 3, 'the scan runs as deep as the idle pool');
    assert.equal(pool.free, 3, 'every buffer is back');
  });

  it('copies the booted slot\'s same-position chunks the target lacks, and indexes the others by CRC32', async () => {
    const image = randomBytes(CHUNKS * CHUNK);
    const booted = Buffer.from(image);
    randomBytes(CHUNK).copy(booted, 5 * CHUNK);
    image.copy(booted, 20 * CHUNK, 6 * CHUNK, 7 * CHUNK); // chunk 6 of the new image sits at position 20 of A
    const a = watched(await slot('a.img', booted, false));
    const b = await slot('b.img', Buffer.alloc(image.length), true);
    const entry = entryOf(image);
    const scan = await scanSlots(entry, b, a, new BufferPool(CHUNK, 3));
    assert.deepEqual(scan.copiedInPlace.flatMap((c, i) => (c ? [] : [i])), [5, 20]);
    assert.deepEqual(scan.booted.get(entry.chunkCrc32[6]), [{ offset: 20 * CHUNK, length: CHUNK }], 'chunk 6 found at position 20');
    assert.deepEqual(a.calls, { readVerify: CHUNKS }, 'the booted slot too: one read job per position');
  });
});
