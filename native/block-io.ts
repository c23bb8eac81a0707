// Typed facade over the addon's slot I/O: O_DIRECT with fallback, threadpool reads/writes, verify-then-write.
import { binding } from './binding';
import { NativeIoError, VerifyError, nativeCall } from './errors';

export { NativeIoError, VerifyError } from './errors';

export interface DeviceInfo {
  size: number;
  logicalSectorSize: number;
  blockDevice: boolean;
}

export interface OpenOptions {
  write: boolean;
  /** O_DIRECT (default true). Refused with EINVAL by some filesystems: then buffered I/O, see BlockFile.direct. */
  direct?: boolean;
  /** Create a missing regular file (mode 0644). Default false: a missing slot is an error. */
  create?: boolean;
  /**
   * Claim a block device exclusively (O_EXCL): open fails with EBUSY while it is mounted, used by
   * device-mapper/md, or claimed by another exclusive open. Ignored for regular files. Default false.
   */
  exclusive?: boolean;
}

/** What the addon needs to act on an open target; both fds are equal when direct is false. */
interface NativeHandle {
  fd: number;
  bufferedFd: number;
  direct: boolean;
  sectorSize: number;
  blockDevice: boolean;
  path: string;
}

interface NativeGeometry {
  size: number;
  sectorSize: number;
  blockDevice: boolean;
}

interface NativeOpenResult extends NativeGeometry {
  fd: number;
  bufferedFd: number;
  direct: boolean;
  fallbackReason?: string;
}

/** What readVerify() found at an offset. */
export interface ReadVerifyResult {
  /** Bytes read: the buffer's length, or fewer at the end of the target. */
  bytes: number;
  /** CRC-32 of the bytes read. */
  crc32: number;
  /** Their SHA-256 equals the expected one; computed only when crc32 matched the expected CRC-32 (false otherwise). */
  sha256Match: boolean;
}

/** BLKGETSIZE64/BLKSSZGET for block devices; st_size and 512 for files. Runs in the threadpool. */
export async function deviceInfo(path: string): Promise<DeviceInfo> {
  const g = await nativeCall(binding().blockDeviceInfo(path) as Promise<NativeGeometry>);
  return { size: g.size, logicalSectorSize: g.sectorSize, blockDevice: g.blockDevice };
}

/** A Buffer over zeroed memory aligned to `alignment` (a power of two >= 8), freed when the Buffer is collected. */
export function allocAligned(size: number, alignment = 4096): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`allocAligned: bad size ${size}`);
  if (!Number.isSafeInteger(alignment) || alignment < 8 || (alignment & (alignment - 1)) !== 0) {
    throw new RangeError(`allocAligned: alignment ${alignment} is not a power of two >= 8`);
  }
  return binding().allocAligned(size, alignment) as Buffer;
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`offset ${offset} is not a non-negative integer`);
}

/**
 * An open slot (block device or image file). Every call runs in the libuv threadpool, so several
 * transfers may be in flight. Ordering contract: a transfer whose offset or length is not a multiple
 * of the sector size (O_DIRECT handles only) runs alone, after every earlier call and before every
 * later one, because its sub-sector head/tail goes through the page cache; sync, datasync, dropCache
 * and close also wait for every earlier call. Buffers must stay unmodified until their call settles.
 */
export class BlockFile {
  readonly path: string;
  readonly direct: boolean;
  readonly directFallbackReason?: string;
  /** Size in bytes when opened (BLKGETSIZE64 or st_size); writes past it on files do not update it. */
  readonly size: number;
  readonly logicalSectorSize: number;
  readonly blockDevice: boolean;
  private readonly handle: NativeHandle;
  private gate: Promise<void> = Promise.resolve();
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;

  private constructor(path: string, r: NativeOpenResult) {
    this.path = path;
    this.direct = r.direct;
    if (r.fallbackReason !== undefined) this.directFallbackReason = r.fallbackReason;
    this.size = r.size;
    this.logicalSectorSize = r.sectorSize;
    this.blockDevice = r.blockDevice;
    this.handle = { fd: r.fd, bufferedFd: r.bufferedFd, direct: r.direct, sectorSize: r.sectorSize, blockDevice: r.blockDevice, path };
  }

  static async open(path: string, opts: OpenOptions): Promise<BlockFile> {
    const direct = opts.direct ?? true;
    const r = await nativeCall(binding().blockOpen(path, opts.write, direct, opts.create ?? false, opts.exclusive ?? false) as Promise<NativeOpenResult>);
    return new BlockFile(path, r);
  }

  /** Writes the whole buffer at `offset` (short writes are retried until done). */
  write(buf: Buffer, offset: number): Promise<void> {
    checkOffset(offset);
    return this.schedule('write', this.unaligned(buf, offset), () => binding().blockWrite(this.handle, buf, offset));
  }

  /** Fills `buf` from `offset` as far as the target allows; resolves with the byte count (short only at the end). */
  read(buf: Buffer, offset: number): Promise<number> {
    checkOffset(offset);
    return this.schedule('read', this.unaligned(buf, offset), () => binding().blockRead(this.handle, buf, offset));
  }

  /**
   * Reads like read(), then, in the same threadpool job, computes the CRC-32 of the bytes read and, only when it
   * equals `expectCrc32`, their SHA-256, compared with `expectSha256` (null: the CRC-32 only). One job per chunk:
   * the scan of a slot runs at the disk's pace instead of paying three event-loop round trips per chunk.
   */
  readVerify(buf: Buffer, offset: number, expectCrc32: number, expectSha256: Buffer | null): Promise<ReadVerifyResult> {
    checkOffset(offset);
    if (expectSha256 !== null && expectSha256.length !== 32) throw new RangeError('expectSha256 must be 32 bytes');
    return this.schedule('read', this.unaligned(buf, offset), () =>
      binding().blockReadVerify(this.handle, buf, offset, expectCrc32 >>> 0, expectSha256),
    );
  }

  /**
   * Computes CRC-32 and SHA-256 of `buf` in the threadpool and writes it only if both match;
   * otherwise rejects with VerifyError and the target is untouched.
   */
  verifyAndWrite(buf: Buffer, offset: number, expectCrc32: number, expectSha256: Buffer): Promise<void> {
    checkOffset(offset);
    if (expectSha256.length !== 32) throw new RangeError('expectSha256 must be 32 bytes');
    return this.schedule('write', this.unaligned(buf, offset), () =>
      binding().blockVerifyAndWrite(this.handle, buf, offset, expectCrc32 >>> 0, expectSha256),
    );
  }

  /** fdatasync: everything written before this call is on the medium when it resolves. */
  datasync(): Promise<void> {
    return this.schedule('fdatasync', true, () => binding().blockSync(this.handle, true));
  }

  /** fsync, including metadata. */
  sync(): Promise<void> {
    return this.schedule('fsync', true, () => binding().blockSync(this.handle, false));
  }

  /** Flushes, then BLKFLSBUF (block devices) or posix_fadvise(DONTNEED) (files): later reads come from the medium. */
  dropCache(): Promise<void> {
    return this.schedule('dropCache', true, () => binding().blockDropCache(this.handle));
  }

  /** Waits for every call in flight, then closes both descriptors. Further calls fail with EBADF. */
  async close(): Promise<void> {
    if (this.closed) return;
    const done = this.schedule('close', true, () => binding().blockClose(this.handle));
    this.closed = true;
    await done;
  }

  private unaligned(buf: Buffer, offset: number): boolean {
    if (!(buf instanceof Uint8Array)) throw new TypeError('buf must be a Buffer');
    const s = this.logicalSectorSize;
    return this.direct && (offset % s !== 0 || buf.length % s !== 0);
  }

  // Ordinary calls start once the last lone call has finished; a lone call (alone=true) also waits for
  // every call already in flight, and becomes the gate for the calls after it.
  private schedule<T>(syscall: string, alone: boolean, start: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError(syscall));
    const before = alone ? Promise.all([this.gate, ...this.inflight]) : this.gate;
    const op = before.then(() => nativeCall(start()));
    const settled = op.then(
      () => undefined,
      () => undefined,
    );
    this.inflight.add(settled);
    void settled.then(() => this.inflight.delete(settled));
    if (alone) this.gate = settled;
    return op;
  }

  private closedError(syscall: string): NativeIoError {
    return new NativeIoError(`EBADF: ${this.path} is closed, ${syscall} '${this.path}'`, {
      code: 'EBADF',
      errno: -9,
      syscall,
      path: this.path,
    });
  }
}
