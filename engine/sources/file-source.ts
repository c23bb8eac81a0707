// A bundle read from a local file (or block device), front to back with bounded read-ahead.
import { open as openFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { PositionalReadable } from '../bundle/byte-reader';
import { AbuError } from '../core/errors';
import type { ImageSource } from './image-source';

/** 1 MiB pieces: few syscalls for 4 MiB chunks while the reader holds at most one piece ahead. */
const READ_PIECE = 1024 * 1024;

export class FileSource implements ImageSource {
  readonly description: string;
  private size: number | undefined;
  private opened = false;

  constructor(readonly path: string) {
    this.description = `file ${path}`;
  }

  /** Known once open() has run (the file's size at that moment). */
  get sizeHint(): number | undefined {
    return this.size;
  }

  /** Opens the file before returning, so a missing or unreadable file fails here with ABU_ERR_SOURCE. */
  async open(): Promise<Readable> {
    if (this.opened) throw new AbuError('ABU_ERR_INTERNAL', `${this.description}: a source can be opened only once`);
    this.opened = true;
    let handle;
    try {
      handle = await openFile(this.path, 'r');
      const stat = await handle.stat();
      if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      if (stat.isFile()) this.size = stat.size;
    } catch (e) {
      await handle?.close();
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new AbuError('ABU_ERR_SOURCE', `cannot read bundle ${this.path}: ${code}`, { cause: e, details: { path: this.path } });
    }
    const stream = handle.createReadStream({ highWaterMark: READ_PIECE, autoClose: true });
    const file = handle;
    // The bundle reader uses readAt instead of the stream (one pread per chunk into the caller's
    // buffer); any other consumer just reads the stream. Closing the stream closes the file.
    const readAt = async (target: Buffer, position: number): Promise<number> => (await file.read(target, 0, target.length, position)).bytesRead;
    return Object.assign(stream, { readAt }) satisfies PositionalReadable;
  }
}
