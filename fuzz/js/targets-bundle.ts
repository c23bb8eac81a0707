// Fuzz targets for bundles: the reader (header, manifest, signatures, payload) and the manifest decoder + validator.
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { openBundle, readUnverifiedHead, loadKeyring, type Keyring } from '../../engine/bundle/bundle-reader';
import { validateManifest } from '../../engine/bundle/manifest';
import { decodeManifest, decodeSignatures } from '../../engine/bundle/manifest-codec';
import { typed, typedAsync, type FuzzTarget } from './property';

const DIST = path.resolve(__dirname, '..', '..', 'engine', 'bundle');
// The key that signed the seed bundles (fuzz/make-seeds): mutations of their payload pass the signature check
// and reach the payload reader's chunk CRC and SHA-256 checks. Read from the source tree; dist has no .pub files.
const PUB = path.resolve(__dirname, '..', '..', '..', 'fuzz', 'js', 'fuzz.pub');

let keyring: Promise<Keyring> | undefined;

function stream(input: Buffer): Readable {
  return Readable.from([input], { objectMode: false });
}

async function readAll(input: Buffer, keys: Keyring): Promise<void> {
  const bundle = await openBundle(stream(input), keys, { idleTimeoutMs: 5000 });
  try {
    for await (const image of bundle.images({ verifyChunks: true })) {
      for await (const chunk of image.chunks) void chunk;
    }
    await bundle.finish();
  } finally {
    bundle.close();
  }
}

export const bundleTarget: FuzzTarget = {
  name: 'bundle',
  files: ['bundle-reader.js', 'byte-reader.js', 'framing.js', 'payload-reader.js', 'chunk-verify.js', 'signatures.js', 'manifest-codec.js', 'manifest.js'].map((f) => path.join(DIST, f)),
  async run(input) {
    keyring ??= loadKeyring(PUB);
    const keys = await keyring;
    await typedAsync('readUnverifiedHead', () => readUnverifiedHead(stream(input), { idleTimeoutMs: 5000 }));
    await typedAsync('openBundle', () => readAll(input, keys));
  },
};

export const manifestTarget: FuzzTarget = {
  name: 'manifest',
  files: ['manifest-codec.js', 'manifest.js'].map((f) => path.join(DIST, f)),
  run(input) {
    typed('decodeManifest+validateManifest', () => validateManifest(decodeManifest(input), 1 << 30));
    typed('decodeSignatures', () => decodeSignatures(input));
  },
};
