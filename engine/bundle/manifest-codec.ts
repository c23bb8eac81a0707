// Manifest and SignatureSet <-> protobuf bytes: deterministic encoding, crash-proof decoding.
import { AbuError, type AbuErrorCode } from '../core/errors';
import { schema } from './proto-schema';
import { invalid, type Compression, type ImageEntry, type Manifest } from './manifest';

export interface SignatureRecord {
  keyId: string;
  algorithm: string;
  signature: Buffer;
}

const COMPRESSION_NAMES: Record<number, string> = { 1: 'zstd', 2: 'xz' };
/** The enum values this abu reads; any other is ABU_ERR_COMPRESSION_UNSUPPORTED. */
const READABLE: Record<number, Compression> = { 0: 'none', 1: 'zstd' };
const COMPRESSION_VALUES: Record<Compression, number> = { none: 0, zstd: 1 };

/**
 * Only non-default fields are set, so protobufjs emits exactly the proto3 canonical form, in
 * field-number order: the same manifest always gives the same bytes.
 */
export function encodeManifest(m: Manifest): Buffer {
  const source = pruned({ exact: m.source.exact, range: m.source.range });
  const images = m.images.map((i) => pruned({
    name: i.name, slotClass: i.slotClass, size: i.size, chunkSize: i.chunkSize,
    chunkCrc32: i.chunkCrc32, chunkSha256: i.chunkSha256, sha256: i.sha256, offset: i.offset,
    compression: COMPRESSION_VALUES[i.compression], chunkStoredSize: i.chunkStoredSize, chunkStoredCrc32: i.chunkStoredCrc32,
  }));
  const object = pruned({
    product: m.product, version: m.version, description: m.description, buildTime: m.buildTime,
    source: Object.keys(source).length > 0 ? source : undefined, irreversible: m.irreversible, images,
  });
  const { Manifest: type } = schema();
  return Buffer.from(type.encode(type.fromObject(object)).finish());
}

export function decodeManifest(bytes: Buffer): Manifest {
  const raw = decode('Manifest', bytes, 'ABU_ERR_MANIFEST_DECODE') as Record<string, any>;
  const source: Manifest['source'] = {};
  if (raw.source?.exact) source.exact = raw.source.exact;
  if (raw.source?.range) source.range = raw.source.range;
  return {
    product: raw.product ?? '',
    version: raw.version ?? '',
    description: raw.description ?? '',
    buildTime: toSafeNumber(raw.buildTime, 'build_time'),
    source,
    irreversible: raw.irreversible === true,
    images: (raw.images ?? []).map((img: Record<string, any>, i: number) => decodeImage(img, `images[${i}]`)),
  };
}

function decodeImage(img: Record<string, any>, field: string): ImageEntry {
  const compression = READABLE[img.compression ?? 0];
  if (compression === undefined) {
    const name = COMPRESSION_NAMES[img.compression] ?? `value ${img.compression}`;
    throw new AbuError('ABU_ERR_COMPRESSION_UNSUPPORTED', `image ${img.name} uses compression ${name}; this abu reads uncompressed and zstd images`, { details: { image: img.name, compression: img.compression } });
  }
  const stored = compression === 'none' && !img.chunkStoredSize?.length && !img.chunkStoredCrc32?.length ? {} : {
    chunkStoredSize: [...(img.chunkStoredSize ?? [])] as number[],
    chunkStoredCrc32: [...(img.chunkStoredCrc32 ?? [])] as number[],
  };
  return {
    name: img.name ?? '',
    slotClass: img.slotClass ?? '',
    size: toSafeNumber(img.size, `${field}.size`),
    chunkSize: img.chunkSize ?? 0,
    chunkCrc32: [...(img.chunkCrc32 ?? [])],
    chunkSha256: (img.chunkSha256 ?? []).map((d: Uint8Array) => Buffer.from(d)),
    sha256: Buffer.from(img.sha256 ?? []),
    offset: toSafeNumber(img.offset, `${field}.offset`),
    compression,
    ...stored,
  };
}

export function encodeSignatures(records: SignatureRecord[]): Buffer {
  const { SignatureSet: type } = schema();
  const signatures = records.map((r) => pruned({ keyId: r.keyId, algorithm: r.algorithm, signature: r.signature }));
  return Buffer.from(type.encode(type.fromObject({ signatures })).finish());
}

export function decodeSignatures(bytes: Buffer): SignatureRecord[] {
  const raw = decode('SignatureSet', bytes, 'ABU_ERR_SIGNATURE_DECODE') as Record<string, any>;
  const records = (raw.signatures ?? []).map((s: Record<string, any>) => ({
    keyId: s.keyId ?? '', algorithm: s.algorithm ?? '', signature: Buffer.from(s.signature ?? []),
  }));
  // The block is not itself signed: only its canonical encoding is accepted, so nobody can alter
  // a bundle's bytes (wire types, unknown fields) while keeping its signatures valid.
  if (!encodeSignatures(records).equals(bytes)) {
    throw new AbuError('ABU_ERR_SIGNATURE_DECODE', 'signature block is not canonically encoded (unknown fields or altered wire types)');
  }
  return records;
}

function decode(typeName: 'Manifest' | 'SignatureSet', bytes: Buffer, code: AbuErrorCode): unknown {
  try {
    // A plain Uint8Array view, not the Buffer: protobufjs's BufferReader clamps a string that runs
    // past the end instead of failing, which would let a cut-off field decode "successfully".
    return schema()[typeName].decode(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
  } catch (e) {
    const what = typeName === 'Manifest' ? 'manifest' : 'signature block';
    throw new AbuError(code, `${what} is not a valid protobuf ${typeName}: ${(e as Error).message}`, { cause: e });
  }
}

/** uint64 arrives as a number or a Long; anything above 2^53-1 cannot be a number, so refuse it. */
function toSafeNumber(v: unknown, field: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) invalid(field, `${v} is not a safe integer`);
    return v;
  }
  const long = v as { high: number; low: number };
  const high = long.high >>> 0;
  if (high > 0x1fffff) invalid(field, `is larger than ${Number.MAX_SAFE_INTEGER}`);
  return high * 2 ** 32 + (long.low >>> 0);
}

function pruned(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const empty = v === undefined || v === '' || v === 0 || v === false || (Array.isArray(v) && v.length === 0) || (Buffer.isBuffer(v) && v.length === 0);
    if (!empty) out[k] = v;
  }
  return out;
}
