// The serial console's line protocol: bounded line splitting, command parsing and the upload block codec.
import * as CRC32 from 'crc-32';
import { AbuError } from '../../core/errors';

export const PROMPT = 'abu> ';
/** Longest line kept; a D line carries at most 4 KiB of base64, so 8 KiB leaves room and bounds memory. */
export const MAX_LINE = 8 * 1024;
/** Payload bytes per upload block: 4 KiB of base64, small enough that a retransmit at 115200 baud costs under half a second. */
export const BLOCK_BYTES = 3072;

/** Most blocks a host may have in flight (`window=N` on the install line): 16 blocks hold at most 45 KiB ahead of a gap. */
export const MAX_WINDOW = 16;

export type LineItem = { line: string } | { error: AbuError };

/**
 * Splits a byte stream into lines ended by LF, CR or CRLF (terminals send CR for Enter). A line longer
 * than `max` is discarded up to its end and reported once, so a flood never grows memory. With
 * `editing`, DEL and BS erase the previous character, for an operator typing at a terminal.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private length = 0;
  private overflowing = false;
  private afterCR = false;

  constructor(private readonly max = MAX_LINE, private readonly editing = false) {}

  /** Drops a partial line: a binary frame opens, so what came before it was noise. */
  reset(): void {
    this.parts = [];
    this.length = 0;
    this.overflowing = false;
    this.afterCR = false;
  }

  /** True while part of a line has arrived but not its end (an operator is typing). */
  get holdsPartialLine(): boolean {
    return this.length > 0 || this.overflowing;
  }

  push(bytes: Buffer): LineItem[] {
    const out: LineItem[] = [];
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === 10 && this.afterCR) {
        this.afterCR = false; // the LF of a CRLF: that line already ended
        start = i + 1;
        continue;
      }
      this.afterCR = b === 13;
      if (b === 10 || b === 13) {
        this.keep(bytes.subarray(start, i));
        out.push(this.take());
        start = i + 1;
      } else if (this.editing && (b === 0x7f || b === 8)) {
        this.keep(bytes.subarray(start, i));
        this.erase();
        start = i + 1;
      }
    }
    this.keep(bytes.subarray(start));
    return out;
  }

  private erase(): void {
    const last = this.parts.pop();
    if (!last || this.overflowing) return;
    if (last.length > 1) this.parts.push(last.subarray(0, last.length - 1));
    this.length--;
  }

  private keep(piece: Buffer): void {
    if (this.overflowing || piece.length === 0) return;
    if (this.length + piece.length > this.max) {
      this.overflowing = true;
      this.parts = [];
      this.length = 0;
      return;
    }
    this.parts.push(piece);
    this.length += piece.length;
  }

  private take(): LineItem {
    if (this.overflowing) {
      this.overflowing = false;
      return { error: new AbuError('ABU_ERR_SERIAL_LINE_TOO_LONG', `line longer than ${this.max} bytes discarded; keep lines shorter`) };
    }
    const raw = Buffer.concat(this.parts, this.length);
    this.parts = [];
    this.length = 0;
    return textLine(raw);
  }
}

/** Only printable ASCII and tabs: a console line with other bytes is line noise or a wrong baud rate. */
function textLine(raw: Buffer): LineItem {
  for (const b of raw) {
    if ((b < 0x20 && b !== 9) || b > 0x7e) {
      return { error: new AbuError('ABU_ERR_SERIAL_GARBAGE', `line holds byte 0x${b.toString(16).padStart(2, '0')}, which is not text; check the baud rate`) };
    }
  }
  return { line: raw.toString('latin1') };
}

/** What a terminal should show for typed bytes: Enter as a new line, DEL/BS as a rub-out, control bytes not at all. */
export function echoBytes(bytes: Buffer): string {
  let out = '';
  let afterCR = false;
  for (const b of bytes) {
    if (b === 13 || (b === 10 && !afterCR)) out += '\r\n';
    else if (b === 0x7f || b === 8) out += '\b \b';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    afterCR = b === 13;
  }
  return out;
}

export interface ConsoleCommand {
  verb: string;
  args: string[];
}

const ARITY: Record<string, [number, number]> = {
  help: [0, 0], status: [0, 0], history: [0, 1], activate: [0, 2], 'mark-good': [0, 1], 'mark-bad': [0, 1],
  reboot: [0, 0], install: [2, 6], cancel: [0, 0],
};

/** Parses a command line; unknown verbs and wrong argument counts are ABU_ERR_USAGE. Empty lines give null. */
export function parseCommand(line: string): ConsoleCommand | null {
  const words = line.trim().split(/[ \t]+/).filter((w) => w.length > 0);
  if (words.length === 0) return null;
  const [verb, ...args] = words;
  // A block or END that arrives after its upload ended (the device failed it while the next block was on the
  // wire) is no command: a code of its own lets the next push tell it from an answer to its own install.
  if (verb === 'D' || verb === 'END') throw new AbuError('ABU_ERR_SERIAL_BLOCK', `no upload is running: a late "${verb}" line of an ended upload was dropped`);
  const arity = ARITY[verb];
  if (!arity) throw new AbuError('ABU_ERR_USAGE', `unknown command "${clip(verb)}"; type help`);
  if (args.length < arity[0] || args.length > arity[1]) throw new AbuError('ABU_ERR_USAGE', `${verb} takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]}-${arity[1]}`} argument(s); type help`);
  return { verb, args };
}

export interface InstallAnnounce {
  size: number;
  sha256: string;
}

export function parseInstallArgs(args: string[]): InstallAnnounce {
  const [size, sha] = args;
  if (!/^[1-9][0-9]{0,15}$/.test(size) || !Number.isSafeInteger(Number(size))) throw new AbuError('ABU_ERR_USAGE', `install SIZE must be a positive byte count, not "${clip(size)}"`);
  if (!/^[0-9a-fA-F]{64}$/.test(sha)) throw new AbuError('ABU_ERR_USAGE', 'install SHA256HEX must be 64 hex digits');
  return { size: Number(size), sha256: sha.toLowerCase() };
}

/** The install-line word a host sends when it can seek in the bundle and answer GET lines; READY repeats it when granted. */
export const RANGES_WORD = 'ranges';

/**
 * Splits the transfer words off the words after `install SIZE SHA256`: `window=N`, the blocks the host will keep in
 * flight (capped at MAX_WINDOW; a host that names none sends stop-and-wait, as pushers before the window did),
 * `frames=binary` (COBS frames, binary-frame.ts) or `frames=base64` (D lines, the default), and `ranges` (the host
 * answers `GET <start> <length>` lines, serial-ranges.ts).
 */
export function takeTransferWords(words: string[]): { window: number; binary: boolean; ranges: boolean; rest: string[] } {
  let window = 1;
  let binary = false;
  let ranges = false;
  const rest: string[] = [];
  for (const w of words) {
    const m = /^window=([0-9]{1,6})$/.exec(w);
    const f = /^frames=(.*)$/.exec(w);
    if (f && f[1] !== 'binary' && f[1] !== 'base64') throw new AbuError('ABU_ERR_USAGE', `install frames= takes binary or base64, not "${clip(f[1])}"`);
    if (f) binary = f[1] === 'binary';
    else if (w === RANGES_WORD) ranges = true;
    else if (!m) rest.push(w);
    else if (Number(m[1]) < 1) throw new AbuError('ABU_ERR_USAGE', `install window=N needs N of at least 1, not "${clip(w)}"`);
    else window = Math.min(Number(m[1]), MAX_WINDOW);
  }
  return { window, binary, ranges, rest };
}

export interface DataBlock {
  seq: number;
  data: Buffer;
}

export function crc32Hex(data: Buffer): string {
  return (CRC32.buf(data) >>> 0).toString(16).padStart(8, '0');
}

/** `D <seq> <base64> <crc32hex>`: the CRC covers the decoded bytes, so a flipped base64 character is caught. */
export function encodeBlock(seq: number, data: Buffer): string {
  return `D ${seq} ${data.toString('base64')} ${crc32Hex(data)}`;
}

/** Decodes a D line; throws ABU_ERR_SERIAL_BLOCK with `details.seq` (when readable) and `details.reason`. */
export function decodeBlock(line: string): DataBlock {
  const m = /^D ([0-9]{1,10}) ([A-Za-z0-9+/]*={0,2}) ([0-9a-fA-F]{8})$/.exec(line);
  const seqMatch = /^D ([0-9]{1,10}) /.exec(line);
  const seq = seqMatch ? Number(seqMatch[1]) : undefined;
  if (!m || m[2].length % 4 !== 0) throw blockError('malformed', 'block line is not "D <seq> <base64> <crc32hex>"', seq);
  const data = Buffer.from(m[2], 'base64');
  if (data.length === 0 || data.length > BLOCK_BYTES) throw blockError('bad-length', `block carries ${data.length} bytes; 1-${BLOCK_BYTES} allowed`, seq);
  if (crc32Hex(data) !== m[3].toLowerCase()) throw blockError('crc-mismatch', `block ${seq} failed its CRC32 check`, seq);
  return { seq: Number(m[1]), data };
}

function blockError(reason: string, message: string, seq?: number): AbuError {
  return new AbuError('ABU_ERR_SERIAL_BLOCK', message, { details: { reason, seq } });
}

/** One line, no control characters: a message must never break the line framing. */
export function oneLine(text: string): string {
  return text.replace(/[^\x20-\x7e]+/g, ' ').trim();
}

export function errLine(code: string, message: string): string {
  return `ERR ${code} ${oneLine(message)}`;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}...` : s;
}

export const HELP_TEXT = [
  'help                     this list',
  'status                   slots, versions, states, booted, primary, floor, last error',
  'history [N]              the last N history entries (default 10)',
  'activate [other|SLOT] [accept-irreversible]',
  '                         boot the other image (default) or SLOT next; an irreversible release needs the word',
  'mark-good [SLOT]         confirm a slot (default: booted)',
  'mark-bad [SLOT]          mark a slot bad (default: booted)',
  'reboot                   restart the appliance',
  'install SIZE SHA256HEX [accept-irreversible] [no-activate] [no-adaptive] [window=N] [frames=binary] [ranges]',
  '                         upload a bundle: READY, then "D <seq> <base64> <crc32>" lines answered OK/NAK <seq>, then END;',
  `                         window=N: up to N (at most ${MAX_WINDOW}) blocks in flight, READY names the window granted;`,
  '                         frames=binary: blocks as 0x00-delimited COBS frames of 4 KiB instead (READY names "binary");',
  '                         ranges: the device asks "GET <start> <length>" for the bytes it lacks (READY names "ranges")',
  'cancel                   stop a running upload; nothing is activated',
];
