// `abu keygen`: make an ed25519 signing key pair (<name>.key PKCS#8, mode 0600; <name>.pub SPKI).
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { keyId } from '../../../bundle/keyring';
import { isSafeName } from '../../../bundle/manifest';
import { AbuError } from '../../../core/errors';
import type { Command } from '../command';
import { parse } from '../cli-support';

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'create an ed25519 key pair for signing bundles (prints its key id)',
  usage: 'abu keygen --out DIR [--name NAME (default demo)] [--json]',
  async run(args, ctx) {
    const { values, positionals } = parse(args, { out: { type: 'string' }, name: { type: 'string' } }, false);
    const name = typeof values.name === 'string' ? values.name : 'demo';
    if (typeof values.out !== 'string' || positionals.length > 0) throw new AbuError('ABU_ERR_USAGE', `usage: ${keygenCommand.usage}`);
    if (!isSafeName(name)) throw new AbuError('ABU_ERR_USAGE', `--name ${JSON.stringify(name)} must be 1..64 of [A-Za-z0-9._-] without a leading dot`);
    const dir = path.resolve(ctx.cwd, values.out);
    await mkdir(dir, { recursive: true });
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const privatePath = path.join(dir, `${name}.key`);
    const publicPath = path.join(dir, `${name}.pub`);
    // 'wx': never overwrite a key; losing a release key is worse than a failed command.
    await writeNew(privatePath, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    await writeNew(publicPath, publicKey.export({ type: 'spki', format: 'pem' }) as string, 0o644);
    const id = keyId(publicKey);
    if (values.json) ctx.stdout.write(JSON.stringify({ keyId: id, privateKey: privatePath, publicKey: publicPath }) + '\n');
    else ctx.stdout.write(`key id ${id}\n  private key ${privatePath} (keep it secret; sign with --key)\n  public key  ${publicPath} (put it in the appliance keyring)\n`);
    return 0;
  },
};

async function writeNew(file: string, content: string, mode: number): Promise<void> {
  try {
    await writeFile(file, content, { mode, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new AbuError('ABU_ERR_USAGE', `${file} already exists; choose another --name or --out`);
    throw new AbuError('ABU_ERR_IO', `cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}
