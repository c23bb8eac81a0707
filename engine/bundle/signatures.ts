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
 * Returns the key ids whose signatures verify, else throws. The rule, so that nobody without a key can vary
 * the signature block beyond what is stated in the README:
 * - the block is canonical (manifest-codec) and its records are well-formed (16-hex key id, "ed25519",
 *   64 bytes) and strictly ordered by key id, so no key appears twice: else ABU_ERR_SIGNATURE_DECODE;
 * - every record whose key is in the keyring must verify, even when another does: else ABU_ERR_SIGNATURE_INVALID;
 * - records of keys outside the keyring cannot be checked here and are ignored (they let one bundle carry
 *   an old and a new key during a key rotation); at least one keyring key must have signed: else
 *   ABU_ERR_KEY_UNKNOWN, or ABU_ERR_SIGNATURE_MISSING when there is no record at all.
 */
export function verifyManifest(manifestBytes: Buffer, records: SignatureRecord[], keyring: Keyring): string[] {
  if (records.length === 0) throw new AbuError('ABU_ERR_SIGNATURE_MISSING', 'bundle carries no signature; sign it with `abu bundle create --key`');
  checkRecords(records);
  const message = signedMessage(manifestBytes);
  const verified: string[] = [];
  const failed: string[] = [];
  for (const r of records) {
    const key = keyring.keys.get(r.keyId);
    if (key === undefined) continue;
    if (verify(null, message, key, r.signature)) verified.push(r.keyId);
    else failed.push(r.keyId);
  }
  if (failed.length > 0) {
    throw new AbuError('ABU_ERR_SIGNATURE_INVALID', `signature by key ${failed.join(', ')} does not match the manifest: the bundle was altered or signed wrongly`, { details: { keyIds: failed } });
  }
  if (verified.length > 0) return verified;
  const ids = records.map((r) => JSON.stringify(r.keyId)).join(', ');
  const held = [...keyring.keys.keys()].join(', ') || 'no keys';
  // The usual cause is a bundle made for another appliance (each demo appliance has its own key): say how to trust a signer.
  throw new AbuError(
    'ABU_ERR_KEY_UNKNOWN',
    `bundle is signed only by key ${ids}, none of which is in the keyring (${held}${keyring.sources.length ? ` from ${keyring.sources.join(', ')}` : ''}): ` +
      'it was signed for another appliance; to trust its signer, add the signer\'s .pub key (made by abu keygen) to the keyring',
    { details: { keyIds: records.map((r) => r.keyId) } },
  );
}

const KEY_ID = /^[0-9a-f]{16}$/;

/** Every record well-formed, ordered by key id, each key once: what signManifest writes, and nothing else. */
function checkRecords(records: SignatureRecord[]): void {
  records.forEach((r, i) => {
    const bad = (problem: string): never => {
      throw new AbuError('ABU_ERR_SIGNATURE_DECODE', `signature record ${i} ${problem}`, { details: { record: i, keyId: r.keyId.slice(0, 32) } });
    };
    if (!KEY_ID.test(r.keyId)) bad(`has key id ${JSON.stringify(r.keyId.slice(0, 32))}, not 16 lowercase hex digits`);
    if (r.algorithm !== SIGNATURE_ALGORITHM) bad(`uses algorithm ${JSON.stringify(r.algorithm.slice(0, 32))}; format 1 signs with ${SIGNATURE_ALGORITHM} only`);
    if (r.signature.length !== 64) bad(`holds a ${r.signature.length}-byte signature; ${SIGNATURE_ALGORITHM} signatures are 64 bytes`);
    if (i > 0 && records[i - 1].keyId === r.keyId) bad(`repeats key ${r.keyId}: each key signs once`);
    if (i > 0 && records[i - 1].keyId > r.keyId) bad(`(key ${r.keyId}) comes after key ${records[i - 1].keyId}: records are ordered by key id`);
  });
}
