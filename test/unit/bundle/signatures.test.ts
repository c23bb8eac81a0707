// Signature and keyring rules: unsigned, unknown keys, mixed key sets, keyring file formats.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadKeyring, type Manifest } from '../../../engine/bundle/bundle-reader';
import { keyId } from '../../../engine/bundle/keyring';
import { encodeManifest, encodeSignatures, type SignatureRecord } from '../../../engine/bundle/manifest-codec';
import { signManifest } from '../../../engine/bundle/signatures';
import { craftBundle, describeImages, imageBytes, makeKey, tempDir, writeKeyring, type TestKey } from '../../helpers/bundle-fixtures';
import { expectCode, readBundle } from './read-bundle';

describe('bundle signatures and keyrings', function () {
  this.timeout(20_000);
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let keys: TestKey[];
  let manifest: Manifest;
  let payloads: Buffer[];

  before(async () => {
    tmp = await tempDir();
    keys = Array.from({ length: 4 }, () => makeKey());
    payloads = [imageBytes(70_000)];
    manifest = { product: 'p', version: '1.0.0', description: '', buildTime: 0, source: {}, irreversible: false, images: await describeImages(tmp.dir, [{ name: 'rootfs', data: payloads[0] }]) };
  });
  after(async () => tmp.cleanup());

  async function keyringOf(which: TestKey[]): Promise<Awaited<ReturnType<typeof loadKeyring>>> {
    const dir = path.join(tmp.dir, `ring-${which.map((k) => k.keyId).join('-')}`);
    await mkdir(dir, { recursive: true });
    return loadKeyring(await writeKeyring(dir, which));
  }

  it('derives the key id from the raw public key, the same for the private half', () => {
    for (const k of keys) {
      assert.match(k.keyId, /^[0-9a-f]{16}$/);
      assert.equal(keyId(k.privateKey), k.keyId);
    }
    assert.equal(new Set(keys.map((k) => k.keyId)).size, keys.length);
  });

  // Every combination of signers (up to 3 of 4 keys) against every keyring of one or two keys.
  it('verifies exactly when some signer is in the keyring, and reports why otherwise', async () => {
    const signerSets: TestKey[][] = [[]];
    for (let mask = 1; mask < 16; mask++) if (mask.toString(2).replace(/0/g, '').length <= 3) signerSets.push(keys.filter((_, i) => mask & (1 << i)));
    const rings = [[keys[0]], [keys[1]], [keys[0], keys[3]], [keys[2], keys[3]]];
    for (const signers of signerSets) {
      const bytes = craftBundle(manifest, { keys: signers, payloads });
      for (const ring of rings) {
        const keyring = await keyringOf(ring);
        const trusted = signers.filter((s) => ring.includes(s)).map((s) => s.keyId).sort();
        const label = `signed by ${signers.map((s) => keys.indexOf(s))}, ring ${ring.map((r) => keys.indexOf(r))}`;
        if (signers.length === 0) await expectCode(readBundle(bytes, keyring), 'ABU_ERR_SIGNATURE_MISSING', label);
        else if (trusted.length === 0) {
          const e = await expectCode(readBundle(bytes, keyring), 'ABU_ERR_KEY_UNKNOWN', label);
          assert.match(e.message, /signed for another appliance; to trust its signer, add the signer's \.pub key/, label);
        }
        else assert.deepEqual([...(await readBundle(bytes, keyring)).signedBy].sort(), trusted, label);
      }
    }
  });

  it('refuses a bundle whose known key signed a different manifest, even next to an unknown good one', async () => {
    const other = craftBundle({ ...manifest, version: '9.9.9' }, { keys: [keys[0]], payloads });
    const bytes = craftBundle(manifest, { keys: [keys[0]], payloads });
    // Transplant the signature block of the 9.9.9 manifest: same length, same key id, wrong bytes.
    const mLen = bytes.readUInt32LE(12);
    const sLen = bytes.readUInt32LE(16);
    other.copy(bytes, 32 + mLen, 32 + other.readUInt32LE(12), 32 + other.readUInt32LE(12) + sLen);
    await expectCode(readBundle(bytes, await keyringOf([keys[0]])), 'ABU_ERR_SIGNATURE_INVALID');
  });

  describe('the signature block admits one form per set of signers', () => {
    const manifestBytes = (): Buffer => encodeManifest(manifest);
    const recordsBy = (signers: TestKey[]): SignatureRecord[] => signManifest(manifestBytes(), signers.map((k) => k.privateKey));
    const bundleWith = (records: SignatureRecord[]): Buffer => craftBundle(manifest, { keys: [], payloads, signatureBytes: encodeSignatures(records) });

    it('refuses a key listed twice, even with a valid signature each time', async () => {
      const [r] = recordsBy([keys[0]]);
      const e = await expectCode(readBundle(bundleWith([r, r]), await keyringOf([keys[0]])), 'ABU_ERR_SIGNATURE_DECODE');
      assert.match(e.message, /repeats key/);
    });

    it('refuses records out of key-id order', async () => {
      const records = recordsBy([keys[0], keys[1]]);
      await expectCode(readBundle(bundleWith([records[1], records[0]]), await keyringOf([keys[0], keys[1]])), 'ABU_ERR_SIGNATURE_DECODE');
    });

    it('refuses a keyring key whose signature fails, even next to one that verifies', async () => {
      const records = recordsBy([keys[0], keys[1]]);
      const broken = records.map((r) => (r.keyId === keys[1].keyId ? { ...r, signature: Buffer.alloc(64, 1) } : r));
      const e = await expectCode(readBundle(bundleWith(broken), await keyringOf([keys[0], keys[1]])), 'ABU_ERR_SIGNATURE_INVALID');
      assert.deepEqual(e.details.keyIds, [keys[1].keyId]);
    });

    it('refuses malformed records of keys outside the keyring', async () => {
      const [good] = recordsBy([keys[0]]);
      const ring = await keyringOf([keys[0]]);
      // Ids sorting after the good one, so only the malformation is wrong.
      const bad: SignatureRecord[] = [
        { keyId: 'ffffffffffffffff', algorithm: 'rsa', signature: Buffer.alloc(64) },
        { keyId: 'ffffffffffffffff', algorithm: 'ed25519', signature: Buffer.alloc(63) },
        { keyId: 'fffffffffffffffz', algorithm: 'ed25519', signature: Buffer.alloc(64) },
        { keyId: 'FFFFFFFFFFFFFFFF', algorithm: 'ed25519', signature: Buffer.alloc(64) },
      ];
      for (const r of bad) {
        const records = [good, r].sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
        await expectCode(readBundle(bundleWith(records), ring), 'ABU_ERR_SIGNATURE_DECODE', JSON.stringify({ ...r, signature: r.signature.length }));
      }
    });

    it('ignores a well-formed record of a key outside the keyring (key rotation), and trusts only the keyring key', async () => {
      const records = recordsBy([keys[0], keys[2]]);
      const junk = records.map((r) => (r.keyId === keys[2].keyId ? { ...r, signature: Buffer.alloc(64, 9) } : r));
      const got = await readBundle(bundleWith(junk), await keyringOf([keys[0]]));
      assert.deepEqual(got.signedBy, [keys[0].keyId]);
    });
  });

  it('loads a single PEM file holding several public keys, and lists of paths', async () => {
    const file = path.join(tmp.dir, 'bundle.pem');
    await writeFile(file, `# release keys\n${keys[1].publicPem}\n${keys[2].publicPem}`);
    const ring = await loadKeyring(file);
    assert.deepEqual([...ring.keys.keys()].sort(), [keys[1].keyId, keys[2].keyId].sort());
    const both = await loadKeyring([file, path.join(tmp.dir, `ring-${keys[0].keyId}`)]);
    assert.equal(both.keys.size, 3);
    const signed = craftBundle(manifest, { keys: [keys[2]], payloads });
    assert.deepEqual((await readBundle(signed, ring)).signedBy, [keys[2].keyId]);
  });

  it('refuses keyrings that are empty, missing, malformed or hold non-ed25519 keys', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const cases: [string, string | null][] = [
      ['empty.pem', ''], ['text.pem', 'not a key'], ['rsa.pem', rsa],
      ['broken.pem', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'], ['missing.pem', null],
    ];
    for (const [name, content] of cases) {
      const file = path.join(tmp.dir, name);
      if (content !== null) await writeFile(file, content);
      await expectCode(loadKeyring(file), 'ABU_ERR_KEY_INVALID', name);
    }
    const emptyDir = path.join(tmp.dir, 'empty-ring');
    await mkdir(emptyDir);
    await expectCode(loadKeyring(emptyDir), 'ABU_ERR_KEY_INVALID', 'empty directory');
  });

  it('ignores files other than *.pub in a keyring directory', async () => {
    const dir = path.join(tmp.dir, 'mixed-ring');
    await mkdir(dir);
    await writeKeyring(dir, [keys[3]]);
    await writeFile(path.join(dir, 'README'), 'not a key');
    await writeFile(path.join(dir, 'private.key'), await readFile(path.join(dir, `${keys[3].keyId}.pub`)));
    assert.deepEqual([...(await loadKeyring(dir)).keys.keys()], [keys[3].keyId]);
  });
});
