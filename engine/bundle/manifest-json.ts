// The JSON shape of a manifest for `inspect --json` and the HTTP API: digests as lowercase hex.
import type { Manifest } from './manifest';

export interface ManifestJson {
  product: string;
  version: string;
  description: string;
  buildTime: number;
  source: { exact?: string; range?: string };
  irreversible: boolean;
  images: {
    name: string; slotClass: string; size: number; chunkSize: number; offset: number; compression: 'none';
    sha256: string; chunkCrc32: string[]; chunkSha256: string[];
  }[];
}

export function manifestToJson(m: Manifest): ManifestJson {
  return {
    product: m.product, version: m.version, description: m.description, buildTime: m.buildTime,
    source: { ...m.source }, irreversible: m.irreversible,
    images: m.images.map((i) => ({
      name: i.name, slotClass: i.slotClass, size: i.size, chunkSize: i.chunkSize, offset: i.offset, compression: i.compression,
      sha256: i.sha256.toString('hex'),
      chunkCrc32: i.chunkCrc32.map((c) => c.toString(16).padStart(8, '0')),
      chunkSha256: i.chunkSha256.map((d) => d.toString('hex')),
    })),
  };
}
