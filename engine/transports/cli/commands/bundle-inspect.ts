// `abu bundle inspect`: print a bundle's manifest and say (exit code) whether it verifies.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { loadKeyring, openBundle, readUnverifiedHead, type Manifest, type OpenedBundle } from '../../../bundle/bundle-reader';
import { storedLength } from '../../../bundle/chunk-layout';
import type { ImageEntry } from '../../../bundle/manifest';
import { manifestToJson } from '../../../bundle/manifest-json';
import { AbuError, isAbuError } from '../../../core/errors';
import { FileSource } from '../../../sources/file-source';
import { StreamSource } from '../../../sources/stream-source';
import type { Command } from '../command';
import { checkReadableFile, humanBytes, parse } from '../cli-support';

interface Verdict {
  manifest: Manifest;
  manifestSha256: Buffer;
  signedBy: string[];
  /** Key ids of all signatures when they were not checked (no keyring). */
  unchecked?: string[];
  payload: 'verified' | 'not checked';
}

export const bundleInspectCommand: Command = {
  name: 'bundle inspect',
  summary: 'print a bundle manifest; exit 0 only when its signatures (and payload if asked) verify',
  usage: 'abu bundle inspect FILE|- [--keyring DIR|FILE] [--json] [--verify-payload]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, { keyring: { type: 'string' }, 'verify-payload': { type: 'boolean' } });
    if (positionals.length !== 1) throw new AbuError('ABU_ERR_USAGE', `usage: ${bundleInspectCommand.usage}`);
    const json = values.json === true;
    // A file that cannot be opened is the user's mistake (ABU_ERR_FILE), not an invalid bundle.
    if (positionals[0] !== '-') await checkReadableFile(path.resolve(ctx.cwd, positionals[0]));
    let verdict: Verdict;
    try {
      const stream = await (positionals[0] === '-' ? new StreamSource(ctx.stdin) : new FileSource(path.resolve(ctx.cwd, positionals[0]))).open();
      verdict = typeof values.keyring === 'string'
        ? await verified(stream, path.resolve(ctx.cwd, values.keyring), values['verify-payload'] === true)
        : await unverified(stream);
    } catch (e) {
      if (!isAbuError(e) || e.code === 'ABU_ERR_USAGE') throw e;
      if (json) ctx.stdout.write(JSON.stringify({ valid: false, error: e.toJSON() }) + '\n');
      else ctx.stdout.write(`INVALID: ${e.code}: ${e.message}\n`);
      return 1;
    }
    const valid = verdict.unchecked === undefined;
    if (json) ctx.stdout.write(JSON.stringify(toJson(verdict, valid)) + '\n');
    else ctx.stdout.write(describe(verdict) + (valid ? 'VALID\n' : 'NOT VERIFIED: pass --keyring to check the signatures\n'));
    return valid ? 0 : 1;
  },
};

async function verified(stream: Readable, keyringPath: string, payload: boolean): Promise<Verdict> {
  const bundle = await openBundle(stream, await loadKeyring(keyringPath));
  try {
    if (payload) await checkPayload(bundle);
    return { manifest: bundle.manifest, manifestSha256: bundle.manifestSha256, signedBy: bundle.signedBy, payload: payload ? 'verified' : 'not checked' };
  } finally {
    bundle.close();
  }
}

async function checkPayload(bundle: OpenedBundle): Promise<void> {
  for await (const { chunks } of bundle.images({ verifyChunks: true })) {
    for await (const chunk of chunks) void chunk;
  }
  await bundle.finish();
}

async function unverified(stream: Readable): Promise<Verdict> {
  const head = await readUnverifiedHead(stream);
  return {
    manifest: head.manifest, manifestSha256: createHash('sha256').update(head.manifestBytes).digest(),
    signedBy: [], unchecked: head.signatures.map((s) => s.keyId), payload: 'not checked',
  };
}

function toJson(v: Verdict, valid: boolean): Record<string, unknown> {
  return {
    valid, manifest: manifestToJson(v.manifest), manifestSha256: v.manifestSha256.toString('hex'),
    signedBy: v.signedBy, ...(v.unchecked ? { uncheckedSignatures: v.unchecked } : {}), payload: v.payload,
  };
}

/** "uncompressed", or "zstd: 41.2 MiB stored (32.2%)". */
function storedAs(i: ImageEntry): string {
  if (i.compression === 'none') return 'uncompressed';
  const stored = storedLength(i);
  return `${i.compression}: ${humanBytes(stored)} stored (${(100 * stored / i.size).toFixed(1)}%)`;
}

function describe(v: Verdict): string {
  const m = v.manifest;
  const source = [m.source.exact && `exactly ${m.source.exact}`, m.source.range && `range ${m.source.range}`].filter(Boolean).join(' and ') || 'any version';
  const lines = [
    `product       ${m.product}`,
    `version       ${m.version}`,
    ...(m.description ? [`description   ${m.description}`] : []),
    `build time    ${new Date(m.buildTime * 1000).toISOString()} (${m.buildTime})`,
    `installs on   ${source}`,
    `irreversible  ${m.irreversible ? 'yes: nothing older may be installed afterwards' : 'no'}`,
    `manifest      sha256 ${v.manifestSha256.toString('hex')}`,
    'images',
    ...m.images.map((i) => `  ${i.name} -> slot class ${i.slotClass}: ${humanBytes(i.size)} (${i.size} bytes), ${i.chunkCrc32.length} chunk(s) of ${humanBytes(i.chunkSize)}, ${storedAs(i)}, sha256 ${i.sha256.toString('hex')}`),
    v.unchecked ? `signatures    NOT CHECKED, by key ${v.unchecked.join(', ') || '(none)'}` : `signatures    verified by key ${v.signedBy.join(', ')}`,
    `payload       ${v.payload === 'verified' ? 'every chunk verified' : 'not checked (pass --verify-payload)'}`,
  ];
  return lines.join('\n') + '\n';
}
