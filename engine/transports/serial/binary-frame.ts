// The serial upload's binary block frame: seq, length, payload and CRC32, COBS-encoded between 0x00 delimiters.
import * as CRC32 from 'crc-32';
import { AbuError } from '../../core/errors';
import { cobsDecode, cobsEncode, cobsMaxEncoded } from './cobs';

/** Payload bytes per binary frame: 0.36 s of line at 115200 baud, so a resend costs little; 16 in flight hold 64 KiB. */
export const BINARY_BLOCK_BYTES = 4096;
/** seq (u32), length (u16) before the payload, CRC32 (u32) after it; all big-endian. */
const HEADER = 6;
const TRAILER = 4;
/** Longest COBS frame the device keeps between delimiters: a longer one is line noise and is dropped. */
export const MAX_FRAME_BYTES = cobsMaxEncoded(HEADER + BINARY_BLOCK_BYTES + TRAILER);
/** The install-line word a host sends to ask for binary frames, and the word READY adds when the device grants them. */
export const FRAMES_BINARY = 'binary';

/**
 * One block on the wire: 0x00, COBS(seq, length, payload, CRC32 of all before it), 0x00. The leading 0x00 ends any
 * noise before the frame; the CRC covers seq and length too, so a damaged header is caught like a damaged payload.
 */
export function encodeFrame(seq: number, data: Buffer): Buffer {
  const raw = Buffer.allocUnsafe(HEADER + data.length + TRAILER);
  raw.writeUInt32BE(seq, 0);
  raw.writeUInt16BE(data.length, 4);
  data.copy(raw, HEADER);
  raw.writeUInt32BE(CRC32.buf(raw.subarray(0, HEADER + data.length)) >>> 0, HEADER + data.length);
  return Buffer.concat([Buffer.of(0), cobsEncode(raw), Buffer.of(0)]);
}

/**
 * Decodes a frame (the bytes between two delimiters); throws ABU_ERR_SERIAL_BLOCK with `details.reason` and, when a
 * header was there to read, `details.seq` (possibly damaged itself: the device only uses it to NAK within its window).
 */
export function decodeFrame(frame: Buffer): { seq: number; data: Buffer } {
  const raw = cobsDecode(frame);
  const seq = raw.length >= 4 ? raw.readUInt32BE(0) : undefined;
  if (raw.length < HEADER + TRAILER) throw frameError('malformed', `frame of ${raw.length} bytes is shorter than its header and CRC`, seq);
  const length = raw.readUInt16BE(4);
  if (length === 0 || length > BINARY_BLOCK_BYTES || HEADER + length + TRAILER !== raw.length) {
    throw frameError('bad-length', `frame says ${length} bytes and carries ${raw.length - HEADER - TRAILER}; 1-${BINARY_BLOCK_BYTES} allowed`, seq);
  }
  const body = raw.subarray(0, HEADER + length);
  if ((CRC32.buf(body) >>> 0) !== raw.readUInt32BE(HEADER + length)) throw frameError('crc-mismatch', `block ${seq} failed its CRC32 check`, seq);
  return { seq: seq!, data: Buffer.from(raw.subarray(HEADER, HEADER + length)) };
}

function frameError(reason: string, message: string, seq?: number): AbuError {
  return new AbuError('ABU_ERR_SERIAL_BLOCK', message, { details: { reason, seq } });
}
