// Serving a replica the store still receives (FileReplicaStore.follow): bytes as they arrive, the end only once
// the store verified it, and ABU_ERR_SITE_SOURCE_DISCARDED when its own verification drops it.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { FileReplicaStore } from '../../../engine/cluster/file-replica-store';
import { digestFile } from '../../../engine/cluster/replica-verify';
import { makeBundle, makeKey, tempDir, writeKeyring } from '../../helpers/bundle-fixtures';

describe('file replica store: following a replica while it arrives', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bundle: Buffer;
  let sha: string;
  let keyringPath: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir('abu-follow-'));
    const key = makeKey();
    keyringPath = await writeKeyring(await fs.mkdir(path.join(dir, 'keys'), { recursive: true }).then(() => path.join(dir, 'keys')), [key]);
    const b = await makeBundle(dir, { images: [{ name: 'rootfs', size: 300_000 }], keys: [key], product: 'p' });
    bundle = await fs.readFile(b.path);
    sha = (await digestFile(b.path)).sha256;
  });
  after(() => cleanup());

  const options = { appearWithinMs: 5000, pieceBytes: 64 * 1024 };

  /** Starts receiving in `sub` with the first half sent; returns the rest to send and the receive's end. */
  async function halfReceived(sub: string, bytes: Buffer) {
    const s = new FileReplicaStore(path.join(dir, sub), 10_000_000, { keyringPath, product: 'p' });
    const body = new PassThrough();
    const received = s.receive(sha, bytes.length, 0, body).catch((e) => e);
    body.write(bytes.subarray(0, bytes.length >> 1));
    while ((await s.state(sha)).have < bytes.length >> 1) await new Promise((r) => setTimeout(r, 10));
    return { s, rest: () => body.end(bytes.subarray(bytes.length >> 1)), received };
  }

  async function drain(gen: AsyncGenerator<Buffer>, onFirst: () => void): Promise<Buffer> {
    const out: Buffer[] = [];
    for await (const piece of gen) {
      if (out.length === 0) onFirst();
      out.push(piece);
    }
    return Buffer.concat(out);
  }

  it('serves the bytes held, waits for the rest, and ends once the store verified the replica', async () => {
    const { s, rest, received } = await halfReceived('grow', bundle);
    const followed = await s.follow(sha, 1000, options);
    assert.equal(followed.size, bundle.length);
    const got = await drain(followed.bytes, rest);
    assert.equal((await received).state, 'verified');
    assert.ok(got.equals(bundle.subarray(1000)));
  });

  it('ends with ABU_ERR_SITE_SOURCE_DISCARDED when its own verification fails after the bytes arrived', async () => {
    const bad = Buffer.from(bundle);
    bad[bad.length - 10] ^= 1;
    const { s, rest, received } = await halfReceived('bad', bad);
    const followed = await s.follow(sha, 0, options);
    await assert.rejects(drain(followed.bytes, rest), (e: any) => e.code === 'ABU_ERR_SITE_SOURCE_DISCARDED');
    assert.equal((await received).code, 'ABU_ERR_SITE_REPLICA_DIGEST');
  });

  it('answers ABU_ERR_SITE_REPLICA_MISSING when nothing arrives in time', async () => {
    const s = new FileReplicaStore(path.join(dir, 'none'), 10_000_000, { keyringPath, product: 'p' });
    await assert.rejects(s.follow(sha, 0, { ...options, appearWithinMs: 300 }), (e: any) => e.code === 'ABU_ERR_SITE_REPLICA_MISSING');
  });
});
