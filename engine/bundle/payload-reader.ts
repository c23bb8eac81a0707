// Streams the image payloads of an opened bundle chunk by chunk, checking padding and layout.
import { createHash, type Hash } from 'node:crypto';
import { AbuError } from '../core/errors';
import type { ByteReader } from './byte-reader';
import { chunkExtents, storedLength, zstdCompressBound, type ChunkExtent } from './chunk-layout';
import { checkImageDigest, verifyChunk } from './chunk-verify';
import { decompressChunk } from './chunk-decompress';
import { decompressedAhead, type DecompressAhead } from './decompress-ahead';
import type { ImageEntry, Manifest } from './manifest';

export interface BundleChunk {
  image: ImageEntry;
  index: number;
  /** Byte offset of the chunk within the image. */
  offset: number;
  /** Exactly the chunk's bytes (a view of the allocated buffer when allocate() gave more). */
  data: Buffer;
  /** Expected CRC32 and SHA-256 from the signed manifest. */
  crc32: number;
  sha256: Buffer;
}

export interface ImagesOptions {
  allocate?: (size: number) => Buffer;
  verifyChunks?: boolean;
  /**
   * Chunks the consumer does not need (an adaptive install has them locally): their bytes are skipped
   * (a positional source seeks past them, a stream reads and discards them) and they are not yielded.
   * Not allowed with verifyChunks (the whole-image digest needs every byte).
   */
  skip?: (image: ImageEntry, index: number) => boolean;
  /** zstd images (with allocate, without verifyChunks): decompress chunks ahead of the one yielded (decompress-ahead.ts). */
  decompressAhead?: DecompressAhead;
}

export class PayloadReader {
  /** Index of the image whose bytes are being (or were last) handed out; -1 before the first. */
  private current = -1;
  private started = false;
  /** Holds one stored (compressed) chunk while it is decompressed into its pool buffer; grown to the largest bound. */
  private scratch: Buffer = Buffer.alloc(0);

  constructor(private readonly reader: ByteReader, private readonly manifest: Manifest, private readonly start: number) {}

  async *images(options: ImagesOptions = {}): AsyncGenerator<{ entry: ImageEntry; chunks: AsyncIterable<BundleChunk> }> {
    if (this.started) throw new AbuError('ABU_ERR_INTERNAL', 'bundle images() may be iterated only once');
    this.started = true;
    for (let i = 0; i < this.manifest.images.length; i++) {
      await this.advanceTo(i);
      const entry = this.manifest.images[i];
      yield { entry, chunks: this.chunks(i, entry, options) };
    }
  }

  /** Drains whatever the consumer left unread, then requires EOF. */
  async finish(): Promise<void> {
    await this.advanceTo(this.manifest.images.length);
    await this.reader.expectEnd();
  }

  private async *chunks(i: number, entry: ImageEntry, options: ImagesOptions): AsyncGenerator<BundleChunk> {
    const whole: Hash | null = options.verifyChunks === true ? createHash('sha256') : null;
    const extents = chunkExtents(entry, this.start);
    const { decompressAhead: ahead, allocate } = options;
    if (entry.compression === 'zstd' && whole === null && ahead && allocate) {
      const skip = options.skip && ((index: number) => options.skip!(entry, index));
      for await (const { index, data } of decompressedAhead(this.reader, entry, extents, { allocate, skip, ahead })) {
        yield { image: entry, index, offset: index * entry.chunkSize, data, crc32: entry.chunkCrc32[index], sha256: entry.chunkSha256[index] };
      }
      return;
    }
    for (let index = 0; index < extents.length; index++) {
      if (this.current !== i || this.reader.position !== extents[index].offset) {
        throw new AbuError('ABU_ERR_INTERNAL', `chunks of image ${entry.name} read after the bundle moved past them`);
      }
      if (options.skip?.(entry, index) && whole === null) {
        // The stored length: a zstd chunk takes its compressed size in the bundle, not its chunk length.
        await this.reader.skip(extents[index].length, `image ${entry.name} chunk ${index}`);
        continue;
      }
      const data = await this.readChunk(entry, index, extents[index], options);
      if (whole !== null) {
        verifyChunk(entry, index, data);
        whole.update(data);
      }
      yield { image: entry, index, offset: index * entry.chunkSize, data, crc32: entry.chunkCrc32[index], sha256: entry.chunkSha256[index] };
    }
    if (whole !== null) checkImageDigest(entry, whole.digest());
  }

  /**
   * The chunk's uncompressed bytes in a buffer from allocate(). A zstd chunk's stored bytes go to the one scratch
   * buffer and are decompressed (transport CRC32 first) into the allocated buffer in the threadpool; the next
   * chunk is read only after that, while the consumer still writes the previous ones: memory stays flat.
   */
  private async readChunk(entry: ImageEntry, index: number, extent: ChunkExtent, options: ImagesOptions): Promise<Buffer> {
    const n = Math.min(entry.chunkSize, entry.size - index * entry.chunkSize);
    const target = options.allocate ? options.allocate(n) : Buffer.allocUnsafe(n);
    if (target.length < n) throw new AbuError('ABU_ERR_INTERNAL', `allocate(${n}) returned only ${target.length} bytes`);
    const section = `image ${entry.name} chunk ${index}`;
    if (entry.compression === 'none') return this.reader.read(n, section, target);
    const stored = await this.reader.read(extent.length, section, this.scratchFor(entry, extent.length));
    await decompressChunk(entry, index, stored, target.subarray(0, n));
    return target.subarray(0, n);
  }

  private scratchFor(entry: ImageEntry, length: number): Buffer {
    // The validator bounds every stored size by the compress bound of its chunk, so this never exceeds that bound.
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafeSlow(Math.max(length, zstdCompressBound(entry.chunkSize)));
    return this.scratch;
  }

  /** Finishes the current image (skipping unread bytes), passes skipped images, then the padding before image i. */
  private async advanceTo(i: number): Promise<void> {
    const images = this.manifest.images;
    if (this.current >= 0 && this.current < images.length) await this.skipTo(this.imageEnd(this.current), `image ${images[this.current].name}`);
    for (let j = this.current + 1; j < i; j++) {
      await this.reader.expectZeros(this.imageStart(j) - this.reader.position, `padding before image ${images[j].name}`);
      await this.skipTo(this.imageEnd(j), `image ${images[j].name}`);
    }
    if (i < images.length) await this.reader.expectZeros(this.imageStart(i) - this.reader.position, `padding before image ${images[i].name}`);
    this.current = i;
  }

  private async skipTo(position: number, section: string): Promise<void> {
    if (this.reader.position < position) await this.reader.skip(position - this.reader.position, section);
  }

  private imageStart(i: number): number {
    return this.start + this.manifest.images[i].offset;
  }

  private imageEnd(i: number): number {
    return this.imageStart(i) + storedLength(this.manifest.images[i]);
  }
}
