// The queue's spool directory: uploaded bundles kept as <id>.abu with a <id>.json record; ids are ours, never client names.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AbuError } from '../../core/errors';
import { loadKeyring, openBundle } from '../../bundle/bundle-reader';
import type { ImageSource } from '../../sources/image-source';
import { ByteLimit } from '../../sources/upload-source';
import { writeFileAtomic } from '../../state/atomic-file';

export interface QueueItem {
  id: string;
  /** The client's file name, for display only. */
  name: string;
  product: string;
  version: string;
  description: string;
  irreversible: boolean;
  /** The predecessor the bundle declares (exact version or semver range). */
  source: { exact?: string; range?: string };
  size: number;
  addedAt: string;
}

const ID = /^[0-9a-f]{16}$/;

export class QueueStore {
  /** Admission checks and commits run one at a time, so two uploads of one version cannot both pass a check. */
  private commits: Promise<unknown> = Promise.resolve();

  constructor(readonly dir: string, private readonly keyringPath: string) {}

  /**
   * Spools a body, then verifies its signed head: an unsigned or foreign bundle never enters the queue.
   * `admit` may refuse the described item (it throws) before the item becomes visible in the queue.
   */
  async add(body: Readable, name: string, maxBytes: number, sizeHint?: number, admit?: (item: QueueItem) => Promise<void>): Promise<QueueItem> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = randomBytes(8).toString('hex');
    const part = path.join(this.dir, `${id}.part`);
    try {
      await pipeline(body, new ByteLimit(maxBytes, sizeHint), createWriteStream(part, { mode: 0o600 }));
      const size = (await fs.stat(part)).size;
      if (sizeHint !== undefined && size < sizeHint) throw new AbuError('ABU_ERR_SOURCE', `the upload stopped after ${size} of ${sizeHint} bytes`);
      const item = await this.describe(part, id, name, size);
      await this.serialized(async () => {
        await admit?.(item);
        await writeFileAtomic(path.join(this.dir, `${id}.json`), JSON.stringify(item, null, 2), 0o600);
        await fs.rename(part, this.bundlePath(id));
      });
      return item;
    } catch (e) {
      await fs.rm(part, { force: true });
      throw clientGone(e);
    }
  }

  async list(): Promise<QueueItem[]> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const items: QueueItem[] = [];
    for (const n of names.filter((x) => x.endsWith('.json') && ID.test(x.slice(0, -5)))) {
      const id = n.slice(0, -5);
      const exists = await fs.access(this.bundlePath(id)).then(() => true, () => false);
      if (exists) items.push(JSON.parse(await fs.readFile(path.join(this.dir, n), 'utf8')) as QueueItem);
    }
    return items;
  }

  async remove(id: string): Promise<void> {
    checkId(id);
    const file = this.bundlePath(id);
    if (!(await fs.access(file).then(() => true, () => false))) throw new AbuError('ABU_ERR_NOT_FOUND', `no queued package with id ${id}`);
    await fs.rm(file, { force: true });
    await fs.rm(path.join(this.dir, `${id}.json`), { force: true });
  }

  source(item: QueueItem): ImageSource {
    const file = this.bundlePath(item.id);
    return { description: `queued ${item.name} (${item.version})`, sizeHint: item.size, open: async () => createReadStream(file) };
  }

  bundlePath(id: string): string {
    checkId(id);
    return path.join(this.dir, `${id}.abu`);
  }

  private serialized(fn: () => Promise<void>): Promise<void> {
    const run = this.commits.then(fn, fn);
    this.commits = run.catch(() => undefined);
    return run;
  }

  private async describe(file: string, id: string, name: string, size: number): Promise<QueueItem> {
    const bundle = await openBundle(createReadStream(file), await loadKeyring(this.keyringPath));
    try {
      const m = bundle.manifest;
      return { id, name, product: m.product, version: m.version, description: m.description, irreversible: m.irreversible, source: m.source, size, addedAt: new Date().toISOString() };
    } finally {
      bundle.close();
    }
  }
}

/** Ids are 16 hex digits we generated: anything else ("../config", "%2e%2e") is refused before touching the disk. */
export function checkId(id: string): void {
  if (!ID.test(id)) throw new AbuError('ABU_ERR_NOT_FOUND', `no queued package with id ${JSON.stringify(id.slice(0, 40))}`);
}

function clientGone(e: unknown): unknown {
  const code = (e as { code?: string })?.code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET') {
    return new AbuError('ABU_ERR_SOURCE', 'the client stopped sending before the package was complete', { cause: e });
  }
  return e;
}
