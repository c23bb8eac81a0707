// Reads a bundle file's version and irreversible flag in the browser (framing in proto/abu.proto), so the page can
// name them in a confirmation before it uploads anything. For display only: the appliance verifies every byte.
'use strict';

const BUNDLE_MAGIC = [0x89, 0x41, 0x42, 0x55, 0x0d, 0x0a, 0x1a, 0x0a];
const MAX_MANIFEST_BYTES = 1 << 20;

/** { version, irreversible } from the file's manifest, or null when it is not a readable bundle. */
async function readBundleHead(file) {
  const head = new DataView(await file.slice(0, 32).arrayBuffer());
  if (head.byteLength < 32 || BUNDLE_MAGIC.some((b, i) => head.getUint8(i) !== b)) return null;
  const length = head.getUint32(12, true);
  if (length === 0 || length > MAX_MANIFEST_BYTES || 32 + length > file.size) return null;
  try {
    return parseManifestHead(new Uint8Array(await file.slice(32, 32 + length).arrayBuffer()));
  } catch {
    return null;
  }
}

/** The top-level Manifest fields version (2) and irreversible (6); the rest is skipped. */
function parseManifestHead(bytes) {
  const out = { version: null, irreversible: false };
  const text = new TextDecoder();
  let i = 0;
  const varint = () => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (i >= bytes.length || scale > 2 ** 63) throw new Error('truncated varint');
      const b = bytes[i++];
      value += (b & 0x7f) * scale;
      if (!(b & 0x80)) return value;
    }
  };
  while (i < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) {
      const v = varint();
      if (field === 6) out.irreversible = v !== 0;
    } else if (wire === 2) {
      const n = varint();
      if (i + n > bytes.length) throw new Error('truncated field');
      if (field === 2) out.version = text.decode(bytes.subarray(i, i + n));
      i += n;
    } else if (wire === 1 || wire === 5) {
      i += wire === 1 ? 8 : 4;
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return out.version ? out : null;
}
