// The device side of the serial console: reads lines from any Duplex, runs them on the engine, answers OK or ERR.
import type { Duplex } from 'node:stream';
import { AbuError, isAbuError } from '../../core/errors';
import type { ProgressEvent } from '../../core/progress';
import type { SlotName } from '../../core/slot';
import type { Engine } from '../../facade';
import { formatHistory, formatInstalled, formatStatus } from './console-format';
import { BLOCK_BYTES, HELP_TEXT, LineSplitter, MAX_LINE, PROMPT, echoBytes, errLine, parseCommand, parseInstallArgs, type LineItem } from './console-protocol';
import { SerialUpload } from './serial-upload';

export interface ConsoleServerOptions {
  /** An upload with no line for this long is abandoned, so a vanished host never holds the engine (default 60 s). */
  idleTimeoutMs?: number;
  /** Echo typed characters and allow DEL/BS editing, for an operator at a terminal (scripts leave it off). */
  echo?: boolean;
}

/** Queued lines before reading pauses: the host waits for each answer, so more means a flood. */
const MAX_QUEUED = 32;
const PROGRESS_EVERY_MS = 500;

export class ConsoleServer {
  private readonly splitter: LineSplitter;
  private readonly queue: LineItem[] = [];
  private pumping = false;
  private upload: SerialUpload | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastProgress = { phase: '', at: 0 };
  private unsubscribe: (() => void) | null = null;
  private readonly onData = (b: Buffer) => this.receive(b);
  /** A failing line (unplugged adapter) must not crash the device: cancel any upload and go quiet. */
  private readonly onError = () => this.upload?.cancel();

  constructor(private readonly engine: Engine, private readonly io: Duplex, private readonly o: ConsoleServerOptions = {}) {
    this.splitter = new LineSplitter(MAX_LINE, o.echo === true);
  }

  start(): void {
    this.io.on('data', this.onData);
    this.io.on('error', this.onError);
    this.io.write(PROMPT);
  }

  /** Stops reading; a running upload is cancelled so nothing half-sent is activated. */
  async stop(): Promise<void> {
    this.io.off('data', this.onData);
    this.io.off('error', this.onError);
    const upload = this.upload;
    if (upload) {
      upload.cancel();
      await upload.settled;
    }
  }

  private say(...lines: string[]): void {
    if (!this.io.writable) return;
    this.io.write(lines.map((l) => `${l}\r\n`).join(''));
  }

  private receive(bytes: Buffer): void {
    // Upload blocks are never echoed: they would double the traffic on a slow line.
    if (this.o.echo && !this.upload && this.io.writable) this.io.write(echoBytes(bytes));
    for (const item of this.splitter.push(bytes)) {
      // cancel jumps the queue: the line ahead of it may be a block waiting for a stalled disk.
      if ('line' in item && item.line.trim() === 'cancel' && this.upload) this.upload.cancel();
      else this.queue.push(item);
    }
    if (this.queue.length > MAX_QUEUED) this.io.pause();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        await this.handle(item);
        if (this.queue.length <= MAX_QUEUED / 2) this.io.resume();
      }
    } finally {
      this.pumping = false;
    }
  }

  private async handle(item: LineItem): Promise<void> {
    try {
      if (this.upload) await this.handleUploadLine(item, this.upload);
      else await this.handleCommand(item);
    } catch (e) {
      const err = asAbuError(e);
      if (this.upload) this.upload.fail(err);
      else this.answer(err);
    }
  }

  /** Ends one command's answer: the final OK or ERR line, then the prompt for the next. */
  private answer(result: string[] | AbuError): void {
    if (result instanceof AbuError) this.say(errLine(result.code, result.message));
    else this.say(...result, 'OK');
    if (this.io.writable) this.io.write(PROMPT);
  }

  private async handleCommand(item: LineItem): Promise<void> {
    if ('error' in item) return this.answer(item.error);
    const cmd = parseCommand(item.line);
    if (!cmd) return void this.io.write(PROMPT);
    if (cmd.verb === 'install') return this.beginUpload(cmd.args);
    this.answer(await this.run(cmd.verb, cmd.args));
  }

  private async run(verb: string, args: string[]): Promise<string[]> {
    const e = this.engine;
    switch (verb) {
      case 'help': return HELP_TEXT;
      case 'status': return formatStatus(await e.status());
      case 'history': return formatHistory(await e.history(historyCount(args[0])));
      case 'activate': await e.activate(args[0] === 'other' ? 'other' : slotName(args[0])); return [`activated ${args[0]}`];
      case 'mark-good': await e.markGood(optionalSlot(args[0])); return ['marked good'];
      case 'mark-bad': await e.markBad(optionalSlot(args[0])); return ['marked bad'];
      case 'reboot': await e.reboot(); return ['rebooted'];
      case 'cancel': throw new AbuError('ABU_ERR_NOTHING_RUNNING', 'no upload runs on this console, so there is nothing to cancel');
      default: throw new AbuError('ABU_ERR_USAGE', `unknown command "${verb}"`);
    }
  }

  private async beginUpload(args: string[]): Promise<void> {
    const upload = new SerialUpload(this.engine, parseInstallArgs(args));
    await upload.started();
    this.upload = upload;
    this.unsubscribe = this.engine.subscribe({ progress: (p) => this.progress(p), log: () => undefined });
    this.touch();
    void upload.result.then((r) => this.finishUpload(upload, formatInstalled(r)), (e) => this.finishUpload(upload, upload.explain(e)));
    this.say(`READY ${BLOCK_BYTES}`);
  }

  private async handleUploadLine(item: LineItem, upload: SerialUpload): Promise<void> {
    this.touch();
    if ('error' in item) return this.say(`NAK - ${item.error.code}`);
    const line = item.line.trim();
    if (line === '') return;
    if (line === 'cancel') return upload.cancel(); // queued behind the install line that started the upload
    if (line.startsWith('D ')) {
      const reply = await upload.block(line);
      if (this.upload === upload) this.say(reply);
      this.touch(); // the wait for the disk to drain is not the host's silence
    } else if (line === 'END') {
      upload.end();
      this.touch();
    } else {
      this.say(errLine('ABU_ERR_BUSY', 'an upload is running on this console; send D lines, END or cancel'));
    }
  }

  private finishUpload(upload: SerialUpload, result: string[] | AbuError): void {
    if (this.upload !== upload) return;
    this.upload = null;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.answer(result);
  }

  /** Re-arms the idle timer; after END the engine is working, not the host, so no timer runs. */
  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!this.upload || this.upload.done) return;
    const ms = this.o.idleTimeoutMs ?? 60_000;
    this.idleTimer = setTimeout(() => this.upload?.fail(new AbuError('ABU_ERR_SERIAL_TIMEOUT', `no upload line for ${ms / 1000} s; upload abandoned, nothing was activated`)), ms);
  }

  /** At most one PROGRESS line per half second, plus every phase change. */
  private progress(p: ProgressEvent): void {
    const now = Date.now();
    if (p.phase === this.lastProgress.phase && now - this.lastProgress.at < PROGRESS_EVERY_MS) return;
    this.lastProgress = { phase: p.phase, at: now };
    this.say(`PROGRESS ${p.phase} ${p.bytesDone}/${p.bytesTotal}`);
  }
}

function asAbuError(e: unknown): AbuError {
  return isAbuError(e) ? e : new AbuError('ABU_ERR_INTERNAL', e instanceof Error ? e.message : String(e));
}

function slotName(s: string): SlotName {
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(s)) throw new AbuError('ABU_ERR_SLOT_UNKNOWN', `"${s.slice(0, 20)}" is not a slot name`);
  return s as SlotName;
}

function optionalSlot(s: string | undefined): SlotName | undefined {
  return s === undefined ? undefined : slotName(s);
}

function historyCount(raw: string | undefined): number {
  if (raw === undefined) return 10;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new AbuError('ABU_ERR_USAGE', `history N must be 1-1000, not "${raw.slice(0, 20)}"`);
  return n;
}
