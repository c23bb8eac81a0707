// The JSON shape of a manifest for `inspect --json` and the HTTP API: digests as lowercase hex.
import { storedLength } from './chunk-layout';
import type { ImageEntry, Manifest } from './manifest';

type DigestFields = 'sha256' | 'chunkCrc32' | 'chunkSha256' | 'chunkStoredCrc32';

export type ManifestJson = Omit<Manifest, 'images'> & {
  images: (Omit<ImageEntry, DigestFields> & { sha256: string; chunkCrc32: string[]; chunkSha256: string[]; storedSize: number; chunkStoredCrc32?: string[] })[];
};

export function manifestToJson(m: Manifest): ManifestJson {
  return {
    product: m.product, version: m.version, description: m.description, buildTime: m.buildTime,
    source: { ...m.source }, irreversible: m.irreversible,
    images: m.images.map((i) => ({
      name: i.name, slotClass: i.slotClass, size: i.size, chunkSize: i.chunkSize, offset: i.offset, compression: i.compression,
      // Bytes the image takes in the bundle: its size, or the sum of its zstd frames.
      storedSize: storedLength(i),
      sha256: i.sha256.toString('hex'),
      chunkCrc32: i.chunkCrc32.map(hex32),
      chunkSha256: i.chunkSha256.map((d) => d.toString('hex')),
      ...(i.compression === 'zstd' ? { chunkStoredSize: [...(i.chunkStoredSize ?? [])], chunkStoredCrc32: (i.chunkStoredCrc32 ?? []).map(hex32) } : {}),
    })),
  };
}

function hex32(c: number): string {
  return c.toString(16).padStart(8, '0');
}
