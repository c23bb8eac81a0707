// Deterministic demo root-filesystem images for the simulated appliance (AES-CTR keystream: fast and repeatable).
import { createCipheriv, createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** Every healthy demo image starts with this line; the simulated health check looks for it. */
export const DEMO_IMAGE_MAGIC = 'ABU-DEMO-IMAGE';

export interface DemoImageOptions {
  version: string;
  size: number;
  /** A broken image lacks the magic, so the simulated health check fails after it boots. */
  broken?: boolean;
}

/** Writes the image to `file` in 1 MiB pieces (never the whole image in memory). */
export async function writeDemoImage(file: string, o: DemoImageOptions): Promise<void> {
  const key = createHash('sha256').update(`demo:${o.version}:${o.broken ? 'broken' : 'ok'}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const out = createWriteStream(file);
  const head = Buffer.from(`${o.broken ? 'BROKEN-IMAGE!!' : DEMO_IMAGE_MAGIC} version=${o.version}\n`);
  const piece = Buffer.alloc(1 << 20);
  for (let at = 0; at < o.size; at += piece.length) {
    const n = Math.min(piece.length, o.size - at);
    const data = cipher.update(piece.subarray(0, n));
    if (at === 0) head.copy(data);
    if (!out.write(data)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** Shell health check for the simulated appliance: the booted slot must start with the demo magic. */
export function demoHealthCheckCommand(): string {
  return `dd if="$ABU_SLOT_DEVICE" bs=512 skip=$((ABU_SLOT_OFFSET / 512)) count=1 2>/dev/null | head -c ${DEMO_IMAGE_MAGIC.length} | grep -q '^${DEMO_IMAGE_MAGIC}$'`;
}
