// COBS (Consistent Overhead Byte Stuffing): removes every 0x00 from a frame, so 0x00 can delimit frames on the line.
import { AbuError } from '../../core/errors';

/** Most bytes COBS makes of `n`: one code byte per 254 data bytes, plus the first. */
export function cobsMaxEncoded(n: number): number {
  return n + Math.ceil(n / 254) + 1;
}

/**
 * Encodes `src` so the result holds no 0x00: each run of up to 254 non-zero bytes is preceded by a code byte
 * saying how far the next zero (or the run's end) is. The overhead is at most 1 byte in 254 (0.4 %).
 */
export function cobsEncode(src: Buffer): Buffer {
  const out = Buffer.allocUnsafe(cobsMaxEncoded(src.length));
  let codeAt = 0;
  let code = 1;
  let o = 1;
  for (const b of src) {
    if (b === 0) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
      continue;
    }
    out[o++] = b;
    if (++code === 0xff) {
      out[codeAt] = code;
      codeAt = o++;
      code = 1;
    }
  }
  out[codeAt] = code;
  return out.subarray(0, o);
}

/** Decodes one COBS frame (without its 0x00 delimiter); a 0x00 inside or a code byte past the end is ABU_ERR_SERIAL_BLOCK. */
export function cobsDecode(src: Buffer): Buffer {
  const out = Buffer.allocUnsafe(src.length);
  let o = 0;
  let i = 0;
  while (i < src.length) {
    const code = src[i++];
    if (code === 0 || i + code - 1 > src.length) throw malformed(code === 0 ? 'a 0x00 inside the frame' : 'a code byte past its end');
    for (const end = i + code - 1; i < end; i++) {
      if (src[i] === 0) throw malformed('a 0x00 inside the frame');
      out[o++] = src[i];
    }
    // A run shorter than 254 stood before a zero, except the frame's last run.
    if (code !== 0xff && i < src.length) out[o++] = 0;
  }
  return out.subarray(0, o);
}

function malformed(why: string): AbuError {
  return new AbuError('ABU_ERR_SERIAL_BLOCK', `frame is not valid COBS: ${why}`, { details: { reason: 'malformed' } });
}
