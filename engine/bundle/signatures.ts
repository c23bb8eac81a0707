// Ed25519 manifest signatures with domain separation; verification against a keyring.
import { sign, verify, type KeyObject } from 'node:crypto';
import { AbuError } from '../core/errors';
import { keyId, type Keyring } from './keyring';
import type { SignatureRecord } from './manifest-codec';

/** Prefix that ties a signature to this use: a key signing anything else cannot forge a manifest. */
const DOMAIN = Buffer.from('abu-manifest-v1\n');
export const SIGNATURE_ALGORITHM = 'ed25519';

function signedMessage(manifestBytes: Buffer): Buffer {
  return Buffer.concat([DOMAIN, manifestBytes]);
}

/** One signature per private key, ordered by key id so the block does not depend on argument order. */
export function signManifest(manifestBytes: Buffer, privateKeys: KeyObject[]): SignatureRecord[] {
  const records = privateKeys.map((key) => {
    if (key.type !== 'private') throw new AbuError('ABU_ERR_KEY_INVALID', 'signing needs a private key, got a public one');
    return { keyId: keyId(key), algorithm: SIGNATURE_ALGORITHM, signature: sign(null, signedMessage(manifestBytes), key) };
  });
  records.sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
  const dup = records.find((r, i) => i > 0 && records[i - 1].keyId === r.keyId);
  if (dup) throw new AbuError('ABU_ERR_USAGE', `key ${dup.keyId} is given twice`);
  return records;
}

/**
 * Returns the key ids whose signatures verify (at least one), else throws: a known key that fails
 * is ABU_ERR_SIGNATURE_INVALID (tampering), only unknown keys ABU_ERR_KEY_UNKNOWN, none at all
 * ABU_ERR_SIGNATURE_MISSING.
 */
export function verifyManifest(manifestBytes: Buffer, records: SignatureRecord[], keyring: Keyring): string[] {
  if (records.length === 0) throw new AbuError('ABU_ERR_SIGNATURE_MISSING', 'bundle carries no signature; sign it with `abu bundle create --key`');
  const message = signedMessage(manifestBytes);
  const verified: string[] = [];
  const failed: string[] = [];
  for (const r of records) {
    const key = keyring.keys.get(r.keyId);
    if (key === undefined) continue;
    if (r.algorithm === SIGNATURE_ALGORITHM && r.signature.length === 64 && verify(null, message, key, r.signature)) verified.push(r.keyId);
    else failed.push(r.keyId);
  }
  if (verified.length > 0) return verified;
  if (failed.length > 0) {
    throw new AbuError('ABU_ERR_SIGNATURE_INVALID', `signature by key ${failed.join(', ')} does not match the manifest: the bundle was altered or signed wrongly`, { details: { keyIds: failed } });
  }
  const ids = records.map((r) => JSON.stringify(r.keyId)).join(', ');
  throw new AbuError('ABU_ERR_KEY_UNKNOWN', `bundle is signed only by key ${ids}, none of which is in the keyring (${[...keyring.keys.keys()].join(', ')})`, { details: { keyIds: records.map((r) => r.keyId) } });
}
