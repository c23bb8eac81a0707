// The host side of a serial upload: announce size, SHA-256 and window, send the blocks (block-sender.ts), read the result.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import type { Duplex, Readable } from 'node:stream';
import { AbuError, isAbuError, type AbuErrorCode } from '../../core/errors';
import { LineSplitter, PROMPT } from './console-protocol';
import { BlockSender } from './block-sender';
import type { PushProgressEvent } from './push-progress';

/** At 115200 baud 8 blocks are ~2.9 s of line: enough to cover a USB adapter's latency and a slow disk's pauses. */
export const DEFAULT_WINDOW = 8;

export interface PushOptions {
  /** Wait for one block's OK/NAK before sending it again (default 5 s; raise it below 38400 baud). */
  ackTimeoutMs?: number;
  /** Blocks in flight before waiting for answers (default 8; the device may grant fewer; 1: stop-and-wait). */
  window?: number;
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
}

export interface PushResult {
  bytes: number;
  seconds: number;
  retransmits: number;
  /** Blocks kept in flight: the smaller of the window asked for and the one the device granted. */
  window: number;
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
    const window = await announce(io, reader, `install ${size} ${sha}`, asked, o);
    const retransmits = await sendBlocks(io, reader, file, size, window, o);
    io.write('END\n');
    const lines = await awaitResult(reader, o, size);
    return { bytes: size, seconds: (Date.now() - started) / 1000, retransmits, window, lines };
  } finally {
    reader.close();
  }
}

/**
 * Sends the install line and returns the window granted. A device from before the window refuses the `window=N`
 * word with ABU_ERR_USAGE: the install is then announced again without it, one block at a time.
 */
async function announce(io: Duplex, reader: LineReader, install: string, asked: number, o: PushOptions): Promise<number> {
  const words = [o.acceptIrreversible ? ' accept-irreversible' : '', o.noActivate ? ' no-activate' : ''].join('');
  // The leading newline ends whatever half line (noise, a typed word) the device holds, so install starts clean.
  io.write(`\n${install}${words}${asked > 1 ? ` window=${asked}` : ''}\n`);
  try {
    return Math.min(asked, await expectReady(reader, o));
  } catch (e) {
    if (asked === 1 || !isAbuError(e, 'ABU_ERR_USAGE')) throw e;
    io.write(`${install}${words}\n`);
    await expectReady(reader, o);
    return 1;
  }
}

/** Waits for `READY <block> [<window>]`; returns the window the device granted (1 when it names none). */
async function expectReady(reader: LineReader, o: PushOptions): Promise<number> {
  for (;;) {
    const line = await reader.next(o.ackTimeoutMs ?? 10_000);
    const m = /^READY [0-9]+(?: ([0-9]+))?/.exec(line);
    if (m) return Math.max(1, Number(m[1] ?? 1));
    // Late blocks of an earlier push that the device refused midway: not an answer to this install.
    if (line.startsWith('ERR ABU_ERR_SERIAL_BLOCK ')) continue;
    if (line.startsWith('ERR ')) throw deviceError(line);
  }
}

async function sendBlocks(io: Duplex, reader: LineReader, file: string, size: number, window: number, o: PushOptions): Promise<number> {
  const fh = await fs.open(file, 'r');
  try {
    const sender = new BlockSender(io, reader, fh, size, window, o);
    await sender.run();
    return sender.retransmits;
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
