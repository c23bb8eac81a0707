// The replica store on a real folder: resume offsets, the byte budget, its own verification of what arrives, and
// serving a replica while it still arrives.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { FileReplicaStore } from '../../../engine/cluster/file-replica-store';
import { digestFile } from '../../../engine/cluster/replica-verify';
import { makeBundle, makeKey, tempDir, writeKeyring } from '../../helpers/bundle-fixtures';

describe('file replica store', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let bundle: Buffer;
  let sha: string;
  let keyringPath: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir('abu-replicas-'));
    const key = makeKey();
    keyringPath = await writeKeyring(await fs.mkdir(path.join(dir, 'keys'), { recursive: true }).then(() => path.join(dir, 'keys')), [key]);
    const b = await makeBundle(dir, { images: [{ name: 'rootfs', size: 300_000 }], keys: [key], product: 'p' });
    bundle = await fs.readFile(b.path);
    sha = (await digestFile(b.path)).sha256;
  });
  after(() => cleanup());

  const store = (budget = 10_000_000, sub = 'store') => new FileReplicaStore(path.join(dir, sub), budget, { keyringPath, product: 'p' });

  it('keeps a partial transfer, refuses a resume at the wrong offset, and verifies once complete', async () => {
    const s = store(undefined, 'resume');
    const first = await s.receive(sha, bundle.length, 0, Readable.from([bundle.subarray(0, 100_000)]));
    assert.deepEqual(first, { sha256: sha, state: 'partial', have: 100_000, size: bundle.length });
    await assert.rejects(s.receive(sha, bundle.length, 50_000, Readable.from([bundle.subarray(50_000)])), (e: any) => e.code === 'ABU_ERR_SITE_RANGE' && e.details.have === 100_000);
    const done = await s.receive(sha, bundle.length, 100_000, Readable.from([bundle.subarray(100_000)]));
    assert.equal(done.state, 'verified');
    assert.equal((await s.list())[0].version, '1.0.0');
  });

  it('refuses bytes beyond its budget with ABU_ERR_SITE_BUDGET, for a replica and for an upload', async () => {
    const s = store(bundle.length - 1, 'budget');
    await assert.rejects(s.receive(sha, bundle.length, 0, Readable.from([bundle])), (e: any) => e.code === 'ABU_ERR_SITE_BUDGET' && e.details.budget === bundle.length - 1);
    await assert.rejects(s.add(Readable.from([bundle])), (e: any) => e.code === 'ABU_ERR_SITE_BUDGET');
    assert.equal(await s.used(), 0);
  });

  it('deletes a complete replica that fails its own check, so the sender starts again from zero', async () => {
    const s = store(undefined, 'corrupt');
    const bad = Buffer.from(bundle);
    bad[bad.length - 10] ^= 1;
    await assert.rejects(s.receive(sha, bad.length, 0, Readable.from([bad])), (e: any) => e.code === 'ABU_ERR_SITE_REPLICA_DIGEST');
    assert.deepEqual(await s.state(sha), { sha256: sha, state: 'absent', have: 0, size: null });
  });

  it('offers an announced upload only once its head passed; a short one is discarded, with its followers told so', async () => {
    const s = store(undefined, 'announced');
    const body = new PassThrough();
    const heads: string[] = [];
    const stored = s.addAnnounced(sha, bundle.length, body, (head) => heads.push(head.version));
    body.write(bundle.subarray(0, 200_000));
    // A member pulling once the head was checked, while the rest has not arrived.
    const end = Date.now() + 20_000;
    while (heads.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(heads, ['1.0.0']);
    const followed = await s.follow(sha, 0, { appearWithinMs: 1000, pieceBytes: 65536 });
    const pulled = (async () => { for await (const piece of followed.bytes) void piece; })();
    body.end();
    await assert.rejects(stored, (e: any) => e.code === 'ABU_ERR_BUNDLE_TRUNCATED' && e.details.have === 200_000);
    await assert.rejects(pulled, (e: any) => e.code === 'ABU_ERR_SITE_SOURCE_DISCARDED');
    assert.equal((await s.state(sha)).state, 'absent');
  });

  it('at a restart drops what a killed upload left (budget whole again) and keeps a partial replica for its resume', async () => {
    const s = store(undefined, 'killed');
    const body = new PassThrough();
    const stored = s.addAnnounced(sha, bundle.length, body, () => undefined);
    body.write(bundle.subarray(0, 200_000));
    const end = Date.now() + 20_000;
    while ((await s.state(sha)).have < 200_000 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    // What a SIGKILL leaves at this moment: a copy of the folder, read by the store of the restarted daemon.
    const after = path.join(dir, 'killed-after');
    await fs.cp(path.join(dir, 'killed'), after, { recursive: true });
    body.destroy();
    await stored.catch(() => undefined);
    await fs.writeFile(path.join(after, '.upload-0123456789ab'), Buffer.alloc(1000)); // an unannounced upload's temp file
    const other = '0'.repeat(64);
    await fs.writeFile(path.join(after, `${other}.part`), Buffer.alloc(1000)); // its metadata gone, as between dropPart()'s steps
    const restarted = store(bundle.length + 1000, 'killed-after');
    assert.equal(await restarted.used(), 200_000 + 2000);
    assert.deepEqual(await restarted.recover(), [sha]);
    assert.equal(await restarted.used(), 0);
    assert.deepEqual(await fs.readdir(after), []);
    // A replica received from a source is kept through a restart: its next pull resumes it.
    const member = store(undefined, 'member-restart');
    await member.receive(sha, bundle.length, 0, Readable.from([bundle.subarray(0, 100_000)]));
    assert.deepEqual(await store(undefined, 'member-restart').recover(), []);
    assert.equal((await member.receive(sha, bundle.length, 100_000, Readable.from([bundle.subarray(100_000)]))).state, 'verified');
  });

  it('an announced upload that fails its head check is never offered, and one whose bytes are not the id is refused', async () => {
    const stranger = makeKey();
    const foreign = await makeBundle(dir, { images: [{ name: 'rootfs', size: 100_000 }], keys: [stranger], product: 'p', file: 'foreign.abu' });
    const bytes = await fs.readFile(foreign.path);
    const fsha = (await digestFile(foreign.path)).sha256;
    const s = store(undefined, 'announced-bad');
    let offered = false;
    await assert.rejects(s.addAnnounced(fsha, bytes.length, Readable.from([bytes]), () => (offered = true)), (e: any) => e.code === 'ABU_ERR_KEY_UNKNOWN');
    assert.equal(offered, false);
    assert.equal((await s.state(fsha)).state, 'absent');
    await assert.rejects(s.addAnnounced('0'.repeat(64), bundle.length, Readable.from([bundle]), () => undefined), (e: any) => e.code === 'ABU_ERR_SITE_REPLICA_DIGEST');
    assert.equal(await s.used(), 0);
    const meta = await s.addAnnounced(sha, bundle.length, Readable.from([bundle]), () => undefined);
    assert.deepEqual([meta.sha256, (await s.state(sha)).state], [sha, 'verified']);
  });

  it('stores a checked upload under the SHA-256 of its bytes', async () => {
    const meta = await store(undefined, 'upload').add(Readable.from([bundle]));
    assert.deepEqual([meta.sha256, meta.size, meta.product], [sha, bundle.length, 'p']);
    await assert.rejects(store(undefined, 'upload2').add(Readable.from([bundle.subarray(0, 5000)])), (e: any) => e.code === 'ABU_ERR_BUNDLE_TRUNCATED');
  });

  // Serving a replica it still receives (follow): bytes as they arrive, the end only once it verified the replica,
  // ABU_ERR_SITE_SOURCE_DISCARDED when its own verification drops it.
  const options = { appearWithinMs: 5000, pieceBytes: 64 * 1024 };

  /** Starts receiving in `sub` with the first half sent; returns the rest to send and the receive's end. */
  async function halfReceived(sub: string, bytes: Buffer) {
    const s = store(undefined, sub);
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

  it('reads every piece into the buffers its server hands it (reused once sent), bytes intact', async () => {
    const { s, rest, received } = await halfReceived('pooled', bundle);
    // Two buffers taken in turn, as replica-serve.ts reuses its pieces once the socket took them.
    const pool = [Buffer.alloc(options.pieceBytes), Buffer.alloc(options.pieceBytes)];
    let taken = 0;
    const followed = await s.follow(sha, 0, { ...options, allocate: () => pool[taken++ % 2] });
    const out: Buffer[] = [];
    for await (const piece of followed.bytes) {
      if (out.length === 0) rest();
      assert.ok(pool.some((b) => b.buffer === piece.buffer && piece.byteOffset === b.byteOffset), 'a piece not read into a buffer from allocate()');
      out.push(Buffer.from(piece)); // copied before the buffer is handed out again
    }
    assert.equal((await received).state, 'verified');
    assert.equal(taken, out.length);
    assert.ok(Buffer.concat(out).equals(bundle));
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
    const s = store(undefined, 'none');
    await assert.rejects(s.follow(sha, 0, { ...options, appearWithinMs: 300 }), (e: any) => e.code === 'ABU_ERR_SITE_REPLICA_MISSING');
  });
});
