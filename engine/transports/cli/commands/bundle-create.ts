// `abu bundle create`: sign images into a bundle; the same inputs always give the same bytes.
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { createBundle, DEFAULT_ZSTD_LEVEL, type BundleImageInput } from '../../../bundle/bundle-writer';
import { storedLength } from '../../../bundle/chunk-layout';
import type { Manifest } from '../../../bundle/manifest';
import { AbuError } from '../../../core/errors';
import type { CliContext, Command } from '../command';
import { humanBytes, parse } from '../cli-support';

export const bundleCreateCommand: Command = {
  name: 'bundle create',
  summary: 'create a signed bundle from image files',
  usage: 'abu bundle create --product P --version V [--description D] [--predecessor V | --source-range R] [--irreversible] '
    + '[--chunk-size N[K|M]] [--compress none|zstd[:LEVEL]] [--build-time SECONDS] --key K.key [--key K2.key] --image NAME:SLOTCLASS:PATH [--image ...] --out FILE|- [--json]',
  async run(args, ctx) {
    const { values } = parse(args, {
      product: { type: 'string' }, version: { type: 'string' }, description: { type: 'string' },
      predecessor: { type: 'string' }, 'source-range': { type: 'string' }, irreversible: { type: 'boolean' },
      'chunk-size': { type: 'string' }, 'build-time': { type: 'string' }, compress: { type: 'string' },
      key: { type: 'string', multiple: true }, image: { type: 'string', multiple: true }, out: { type: 'string' },
    }, false);
    const v = values as Record<string, string | string[] | boolean | undefined>;
    const required = ['product', 'version', 'key', 'image', 'out'].filter((k) => v[k] === undefined);
    if (required.length > 0) throw usage(`missing --${required.join(', --')}`);
    const out = v.out as string;
    const created = await createBundle({
      product: v.product as string, version: v.version as string, description: v.description as string | undefined,
      source: { exact: v.predecessor as string | undefined, range: v['source-range'] as string | undefined },
      irreversible: v.irreversible === true,
      chunkSize: v['chunk-size'] === undefined ? undefined : parseSize(v['chunk-size'] as string),
      zstdLevel: parseCompress(v.compress as string | undefined),
      buildTime: buildTime(v['build-time'] as string | undefined, ctx),
      keys: await Promise.all((v.key as string[]).map((k) => loadPrivateKey(path.resolve(ctx.cwd, k)))),
      images: (v.image as string[]).map((spec) => parseImage(spec, ctx.cwd)),
    }, out === '-' ? ctx.stdout : path.resolve(ctx.cwd, out));
    const report = out === '-' ? ctx.stderr : ctx.stdout;
    const m = created.manifest;
    if (v.json === true && out !== '-') report.write(JSON.stringify({ path: path.resolve(ctx.cwd, out), size: created.size, manifestSha256: created.manifestSha256.toString('hex'), keyIds: created.keyIds }) + '\n');
    else report.write(`created ${out}: ${m.product} ${m.version}, ${m.images.length} image(s), ${humanBytes(created.size)}${compressedNote(created.manifest)}, signed by ${created.keyIds.join(', ')}\n`);
    return 0;
  },
};

/** NAME:SLOTCLASS:PATH; the path may itself contain colons. */
function parseImage(spec: string, cwd: string): BundleImageInput {
  const first = spec.indexOf(':');
  const second = spec.indexOf(':', first + 1);
  if (first <= 0 || second <= first + 1 || second === spec.length - 1) throw usage(`--image ${JSON.stringify(spec)} must be NAME:SLOTCLASS:PATH`);
  return { name: spec.slice(0, first), slotClass: spec.slice(first + 1, second), path: path.resolve(cwd, spec.slice(second + 1)) };
}

/** `none` (the default), `zstd` (level DEFAULT_ZSTD_LEVEL) or `zstd:LEVEL` with LEVEL 1..22; the zstd level, or undefined. */
export function parseCompress(text: string | undefined): number | undefined {
  if (text === undefined || text === 'none') return undefined;
  const m = /^zstd(?::(\d{1,2}))?$/.exec(text);
  const level = m === null ? NaN : m[1] === undefined ? DEFAULT_ZSTD_LEVEL : Number(m[1]);
  if (!(level >= 1 && level <= 22)) throw usage(`--compress ${JSON.stringify(text)} must be none, zstd or zstd:LEVEL with LEVEL 1..22 (xz is not supported)`);
  return level;
}

function compressedNote(m: Manifest): string {
  const images = m.images.filter((i) => i.compression === 'zstd');
  if (images.length === 0) return '';
  const raw = images.reduce((n, i) => n + i.size, 0);
  return ` (zstd: ${humanBytes(images.reduce((n, i) => n + storedLength(i), 0))} stored for ${humanBytes(raw)} of images)`;
}

/** Bytes, or with a K/M suffix (KiB/MiB). */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([KkMm])?(i?B)?$/.exec(text.trim());
  if (!m) throw usage(`--chunk-size ${JSON.stringify(text)} is not a size (e.g. 4M, 65536)`);
  const unit = m[2] === undefined ? 1 : m[2].toUpperCase() === 'K' ? 1024 : 1024 * 1024;
  return Number(m[1]) * unit;
}

function buildTime(flag: string | undefined, ctx: CliContext): number | undefined {
  const text = flag ?? ctx.env.SOURCE_DATE_EPOCH;
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw usage(`build time ${JSON.stringify(text)} must be unix seconds`);
  return Number(text);
}

async function loadPrivateKey(file: string): Promise<KeyObject> {
  let key: KeyObject;
  try {
    key = createPrivateKey(await readFile(file, 'utf8'));
  } catch (e) {
    throw new AbuError('ABU_ERR_KEY_INVALID', `cannot load private key ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new AbuError('ABU_ERR_KEY_INVALID', `${file} is a ${key.asymmetricKeyType} key; abu signs with ed25519 (make one with abu keygen)`);
  return key;
}

function usage(problem: string): AbuError {
  return new AbuError('ABU_ERR_USAGE', `${problem}\nusage: ${bundleCreateCommand.usage}`);
}
