// A bundle arriving on any Readable: standard input (`abu install -`), a pipe, a socket.
import type { Readable } from 'node:stream';
import { AbuError } from '../core/errors';
import type { ImageSource } from './image-source';

/**
 * Wraps a stream that can be read once. The bundle reader pulls from it in paused mode, so a
 * writer upstream (curl, a socket) is throttled by the disk rather than buffered in memory.
 */
export class StreamSource implements ImageSource {
  private opened = false;

  constructor(private readonly stream: Readable, readonly description: string = 'standard input', readonly sizeHint?: number) {}

  async open(): Promise<Readable> {
    if (this.opened) throw new AbuError('ABU_ERR_INTERNAL', `${this.description}: a stream can be read only once`);
    this.opened = true;
    if (this.stream.readableEnded || this.stream.destroyed) {
      throw new AbuError('ABU_ERR_SOURCE', `${this.description} is already closed`);
    }
    return this.stream;
  }
}
