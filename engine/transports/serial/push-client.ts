// The host side of a serial upload: announce size, SHA-256 and window, send the blocks (block-sender.ts) or the ranges asked for (ranged-push.ts), read the result.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import type { Duplex, Readable } from 'node:stream';
import { AbuError, isAbuError, type AbuErrorCode } from '../../core/errors';
import { BINARY_BLOCK_BYTES, FRAMES_BINARY, encodeFrame } from './binary-frame';
import { BLOCK_BYTES, LineSplitter, PROMPT, RANGES_WORD, encodeBlock } from './console-protocol';
import { BlockSender, type BlockCodec } from './block-sender';
import type { PushProgressEvent } from './push-progress';
import { answerRanges } from './ranged-push';

/** At 115200 baud 8 blocks are ~2.9 s of line: enough to cover a USB adapter's latency and a slow disk's pauses. */
export const DEFAULT_WINDOW = 8;

export interface PushOptions {
  /** Wait for one block's OK/NAK before sending it again (default 5 s; raise it below 38400 baud). */
  ackTimeoutMs?: number;
  /** Blocks in flight before waiting for answers (default 8; the device may grant fewer; 1: stop-and-wait). */
  window?: number;
  /**
   * `binary` (the default): ask for COBS frames of 4 KiB, ~99 % of the line carries bundle bytes; a device that does not
   * know them refuses the word and gets base64 D lines (3 KiB of bundle in 4 KiB of text). `base64`: never ask.
   */
  frames?: 'binary' | 'base64';
  /** Sends of one block before giving up (default 8). */
  attempts?: number;
  /** Longest silence after END while the device verifies and writes (default 120 s; PROGRESS lines reset it). */
  finishTimeoutMs?: number;
  /** Announce this SHA-256 (e.g. the published one) instead of the file's own: the device refuses the upload when they differ. */
  sha256?: string;
  /** Called after each acknowledged block and for each PROGRESS line from the device. */
  onProgress?: (e: PushProgressEvent) => void;
  /** Let the device activate an irreversible release (the console's `accept-irreversible` word). */
  acceptIrreversible?: boolean;
  /** Write and verify only; activate later with the console's `activate`. */
  noActivate?: boolean;
  /**
   * Offer `ranges` (the default): a device that grants it asks for the bundle's head and then only for the chunks it
   * lacks, so a push cut short and pushed again sends only the rest. false: offer none and ask the device for a full
   * install (`no-adaptive`): every byte is sent and every chunk written, as `abu install --no-adaptive`.
   */
  ranges?: boolean;
}

export interface PushResult {
  /** Bundle bytes the device took in blocks: the whole bundle, or with ranges what it asked for. */
  bytes: number;
  /** The bundle's size. */
  size: number;
  /** The device granted ranges: it asked only for the bytes it lacked. */
  ranges: boolean;
  seconds: number;
  retransmits: number;
  /** Blocks kept in flight: the smaller of the window asked for and the one the device granted. */
  window: number;
  /** How the blocks went: binary frames when the device granted them, else base64 D lines. */
  frames: 'binary' | 'base64';
  /** The device's answer lines before its final OK. */
  lines: string[];
}

/** Lines from the device, prompts stripped; `next` waits at most `ms`. */
export class LineReader {
  private readonly splitter = new LineSplitter(64 * 1024);
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private readonly onData = (b: Buffer) => {
    for (const item of this.splitter.push(b)) if ('line' in item) this.lines.push(stripPrompt(item.line));
    this.waiter?.();
  };

  constructor(private readonly io: Readable) {
    io.on('data', this.onData);
  }

  async next(ms: number): Promise<string> {
    while (this.lines.length === 0) {
      const got = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        this.waiter = () => { clearTimeout(t); resolve(true); };
      });
      this.waiter = null;
      if (!got) throw new AbuError('ABU_ERR_SERIAL_TIMEOUT', `the device sent no line for ${ms / 1000} s; check the cable, the baud rate and that abu console runs`);
    }
    return this.lines.shift()!;
  }

  close(): void {
    this.io.off('data', this.onData);
  }
}

function stripPrompt(line: string): string {
  let l = line;
  while (l.startsWith(PROMPT)) l = l.slice(PROMPT.length);
  return l;
}

/** `ERR <code> <message>` from the device as an AbuError with the device's code. */
export function deviceError(line: string): AbuError {
  const m = /^ERR (\S+) ?(.*)$/.exec(line);
  const code = (m?.[1] ?? 'ABU_ERR_INTERNAL') as AbuErrorCode;
  return new AbuError(code, `device: ${m?.[2] ?? line}`);
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(file)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

/** Pushes `file` over `io` to a device running the console; resolves when the device answered OK. */
export async function pushBundle(io: Duplex, file: string, o: PushOptions = {}): Promise<PushResult> {
  const size = (await fs.stat(file)).size;
  const sha = o.sha256 ?? (await sha256File(file));
  const reader = new LineReader(io);
  const started = Date.now();
  try {
    const asked = Math.max(1, Math.floor(o.window ?? DEFAULT_WINDOW));
    const granted = await announce(io, reader, `install ${size} ${sha}`, asked, o);
    // With ranges the device never sees every byte, so it cannot check an announced SHA-256: this host checks its file.
    const wholeFileChecked = async () => (o.sha256 === undefined ? null : wrongFile(await sha256File(file), sha));
    const sent = await sendBlocks(io, reader, { file, size, wholeFileChecked }, granted, o);
    return { bytes: sent.bytes, size, ranges: granted.ranges, seconds: (Date.now() - started) / 1000, retransmits: sent.retransmits, window: granted.window, frames: granted.binary ? 'binary' : 'base64', lines: sent.lines };
  } finally {
    reader.close();
  }
}

interface Granted {
  window: number;
  binary: boolean;
  ranges: boolean;
  blockBytes: number;
}

/**
 * Sends the install line and returns what the device granted. A device that does not know a transfer word refuses
 * it with ABU_ERR_USAGE: the install is announced again without `ranges` (or `no-adaptive`; a device from before
 * ranges), then without `frames=binary` (one from before binary frames), then without `window=N` (one from before
 * the window), so older devices keep working.
 */
async function announce(io: Duplex, reader: LineReader, install: string, asked: number, o: PushOptions): Promise<Granted> {
  const words = [o.acceptIrreversible ? ' accept-irreversible' : '', o.noActivate ? ' no-activate' : ''].join('');
  const windowWord = asked > 1 ? ` window=${asked}` : '';
  const older = [...(o.frames === 'base64' ? [] : [`${windowWord} frames=${FRAMES_BINARY}`]), windowWord, ...(asked > 1 ? [''] : [])];
  const tries = [`${older[0]} ${o.ranges === false ? 'no-adaptive' : RANGES_WORD}`, ...older];
  for (let i = 0; ; i++) {
    // The leading newline ends whatever half line (noise, a typed word) the device holds, so install starts clean.
    io.write(`\n${install}${words}${tries[i]}\n`);
    try {
      const ready = await expectReady(reader, o);
      return { ...ready, window: Math.min(asked, ready.window) };
    } catch (e) {
      if (i === tries.length - 1 || !isAbuError(e, 'ABU_ERR_USAGE')) throw e;
    }
  }
}

/** Waits for `READY <block> [<window> [binary]]`; the window is 1 when the device names none. */
async function expectReady(reader: LineReader, o: PushOptions): Promise<Granted> {
  for (;;) {
    const line = await reader.next(o.ackTimeoutMs ?? 10_000);
    const m = /^READY ([0-9]+)(?: ([0-9]+))?( binary)?( ranges)?/.exec(line);
    if (m) return { window: Math.max(1, Number(m[2] ?? 1)), binary: m[3] !== undefined, ranges: m[4] !== undefined, blockBytes: Number(m[1]) };
    // Late blocks (D lines or frames) of an earlier push that the device refused midway: not an answer to this install.
    if (line.startsWith('ERR ABU_ERR_SERIAL_BLOCK ')) continue;
    if (line.startsWith('ERR ')) throw deviceError(line);
  }
}

const BASE64_CODEC: BlockCodec = { blockBytes: BLOCK_BYTES, encode: (seq, data) => `${encodeBlock(seq, data)}\n` };
const BINARY_CODEC: BlockCodec = { blockBytes: BINARY_BLOCK_BYTES, encode: encodeFrame };

/** The error that stops a ranged push whose file is not the announced one (null: it is). */
function wrongFile(own: string, announced: string): AbuError | null {
  if (own === announced) return null;
  return new AbuError('ABU_ERR_SERIAL_SHA256', `the file's bytes hash to ${own}, not the announced ${announced}; the device asks only for the bytes it lacks and cannot check the whole file, so this host did; push cancelled, nothing was activated`);
}

interface PushFile {
  file: string;
  size: number;
  /** An announced SHA-256 the file does not match, as the error to stop a ranged push with (null: fine). */
  wholeFileChecked: () => Promise<AbuError | null>;
}

/** Sends the whole file then END, or the ranges the device asks for; returns the device's answer lines and what was sent. */
async function sendBlocks(io: Duplex, reader: LineReader, { file, size, wholeFileChecked }: PushFile, granted: Granted, o: PushOptions): Promise<{ lines: string[]; bytes: number; retransmits: number }> {
  const codec = granted.binary ? BINARY_CODEC : BASE64_CODEC;
  if (granted.blockBytes !== codec.blockBytes) throw new AbuError('ABU_ERR_SERIAL_BLOCK', `the device asks for ${granted.blockBytes}-byte blocks; this host sends ${codec.blockBytes}`);
  const fh = await fs.open(file, 'r');
  try {
    const sender = new BlockSender(io, reader, fh, size, granted.window, codec, o);
    let lines: string[];
    if (granted.ranges) lines = await answerRanges(io, reader, sender, size, o, wholeFileChecked);
    else {
      await sender.run();
      io.write('END\n');
      lines = await awaitResult(reader, o, size);
    }
    return { lines, bytes: sender.bytesAcked, retransmits: sender.retransmits };
  } finally {
    await fh.close();
  }
}

async function awaitResult(reader: LineReader, o: PushOptions, size: number): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const line = await reader.next(o.finishTimeoutMs ?? 120_000);
    if (line === 'OK') return lines;
    if (line.startsWith('ERR ')) throw deviceError(line);
    if (line.startsWith('PROGRESS ')) o.onProgress?.({ sent: size, total: size, deviceLine: line });
    else if (!/^(OK|NAK) /.test(line)) lines.push(line);
  }
}
