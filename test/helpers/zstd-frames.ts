// Hand-made zstd frames (RFC 8878) the compressor never produces: RLE "bombs" that decode to far more than they take.
import * as zlib from 'node:zlib';

const MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/** Block_Maximum_Size: an RLE block repeats one byte at most this often. */
const MAX_BLOCK = 128 * 1024;

export interface BombOptions {
  /** Bytes the frame decodes to (a multiple of 128 KiB). */
  decodesTo: number;
  /** Frame_Content_Size to declare in the header; omitted: the header declares no size (as a streaming compressor). */
  declares?: number;
}

/**
 * One frame of RLE blocks (4 bytes each, 128 KiB of 0x41 each), so 1 GiB takes 32 KiB: what a hostile bundle would
 * send to make a reader allocate or write without bound. Window_Descriptor 0x38 = 128 KiB window; no checksum.
 */
export function rleBombFrame(o: BombOptions): Buffer {
  const blocks = o.decodesTo / MAX_BLOCK;
  if (!Number.isInteger(blocks) || blocks < 1) throw new Error('decodesTo must be a positive multiple of 128 KiB');
  // Frame_Header_Descriptor: FCS_Flag 3 (8-byte size) when a size is declared, else 0; Single_Segment 0.
  const fcs = o.declares === undefined ? Buffer.alloc(0) : Buffer.alloc(8);
  if (o.declares !== undefined) fcs.writeBigUInt64LE(BigInt(o.declares));
  const header = Buffer.concat([MAGIC, Buffer.from([o.declares === undefined ? 0x00 : 0xc0, 0x38]), fcs]);
  const body = Buffer.alloc(blocks * 4);
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    // Block_Header (3 bytes LE): Last_Block bit 0, Block_Type bits 1-2 (1 = RLE), Block_Size bits 3-23.
    body.writeUIntLE(last | (1 << 1) | (MAX_BLOCK << 3), i * 4, 3);
    body[i * 4 + 3] = 0x41;
  }
  return Buffer.concat([header, body]);
}

export function crcOf(b: Buffer): number {
  return zlib.crc32(b);
}
