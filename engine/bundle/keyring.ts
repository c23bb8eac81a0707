// Ed25519 key ids and the keyring: a directory of *.pub files or PEM files holding public keys.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { AbuError } from '../core/errors';

/** Public keys by key id. Immutable once loaded. */
export interface Keyring {
  readonly keys: ReadonlyMap<string, KeyObject>;
  /** The files the keys came from, for messages. */
  readonly sources: readonly string[];
}

const PEM_BLOCK = /-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g;

/** First 16 hex chars of SHA-256 over the raw 32-byte public key (works for a private key too). */
export function keyId(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new AbuError('ABU_ERR_KEY_INVALID', `key is ${publicKey.asymmetricKeyType ?? 'not asymmetric'}, abu uses ed25519 keys`);
  }
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

export async function loadKeyring(pathOrPaths: string | string[]): Promise<Keyring> {
  const roots = Array.isArray(pathOrPaths) ? pathOrPaths : [pathOrPaths];
  const files = (await Promise.all(roots.map(keyFilesAt))).flat();
  const keys = new Map<string, KeyObject>();
  for (const file of files) {
    for (const key of await publicKeysIn(file)) keys.set(keyId(key), key);
  }
  if (keys.size === 0) throw new AbuError('ABU_ERR_KEY_INVALID', `keyring ${roots.join(', ')} holds no public key (expected *.pub files or a PEM file with PUBLIC KEY blocks)`);
  return { keys, sources: files };
}

async function keyFilesAt(p: string): Promise<string[]> {
  let isDir: boolean;
  try {
    isDir = (await stat(p)).isDirectory();
  } catch (e) {
    throw new AbuError('ABU_ERR_KEY_INVALID', `cannot read keyring ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  if (!isDir) return [p];
  const names = (await readdir(p)).filter((n) => n.endsWith('.pub')).sort();
  return names.map((n) => path.join(p, n));
}

async function publicKeysIn(file: string): Promise<KeyObject[]> {
  const text = await readFile(file, 'utf8');
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new AbuError('ABU_ERR_KEY_INVALID', `${file} holds no PEM PUBLIC KEY block`);
  return blocks.map((pem, i) => {
    let key: KeyObject;
    try {
      key = createPublicKey(pem);
    } catch (e) {
      throw new AbuError('ABU_ERR_KEY_INVALID', `${file}: public key ${i + 1} is malformed: ${(e as Error).message}`, { cause: e });
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new AbuError('ABU_ERR_KEY_INVALID', `${file}: public key ${i + 1} is ${key.asymmetricKeyType}, abu uses ed25519`);
    return key;
  });
}
