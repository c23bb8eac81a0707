// The device side of the serial console: reads lines from any Duplex, runs them on the engine, answers OK or ERR.
import type { Duplex } from 'node:stream';
import { AbuError, isAbuError } from '../../core/errors';
import type { ProgressEvent } from '../../core/progress';
import type { Engine } from '../../facade';
import { CHANGING_VERBS, installOptions, runCommand } from './console-commands';
import { formatInstalled } from './console-format';
import { BINARY_BLOCK_BYTES, FRAMES_BINARY } from './binary-frame';
import { BLOCK_BYTES, LineSplitter, MAX_LINE, MAX_WINDOW, PROMPT, RANGES_WORD, echoBytes, errLine, oneLine, parseCommand, parseInstallArgs, takeTransferWords } from './console-protocol';
import { ConsoleSplitter, type ConsoleItem } from './frame-splitter';
import { SerialUpload } from './serial-upload';

export interface ConsoleServerOptions {
  /** An upload with no line for this long is abandoned, so a vanished host never holds the engine (default 60 s). */
  idleTimeoutMs?: number;
  /** Echo typed characters and allow DEL/BS editing, for an operator at a terminal (scripts leave it off). */
  echo?: boolean;
  /**
   * Redraw the prompt (CR + prompt) after this long with nothing sent either way (default 5 s; 0: never), so an
   * operator who attaches a terminal after the console started sees it: what was sent before is lost on the line.
   * Never while a line is half typed, a command runs or an upload is on.
   */
  repromptMs?: number;
  /** One line per command served and per install (start and result), for the appliance's log. */
  log?: (line: string) => void;
}

/** Queued lines before reading pauses: a host keeps at most MAX_WINDOW blocks in flight, so more means a flood. */
const MAX_QUEUED = 2 * MAX_WINDOW;
const PROGRESS_EVERY_MS = 500;

export class ConsoleServer {
  private readonly splitter: ConsoleSplitter;
  private readonly queue: ConsoleItem[] = [];
  private pumping = false;
  private upload: SerialUpload | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastProgress = { phase: '', at: 0 };
  private unsubscribe: (() => void) | null = null;
  private repromptTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly onData = (b: Buffer) => this.receive(b);
  /** A failing line (unplugged adapter) must not crash the device: cancel any upload and go quiet. */
  private readonly onError = () => this.upload?.cancel();

  constructor(private readonly engine: Engine, private readonly io: Duplex, private readonly o: ConsoleServerOptions = {}) {
    this.splitter = new ConsoleSplitter(new LineSplitter(MAX_LINE, o.echo === true));
  }

  start(): void {
    this.io.on('data', this.onData);
    this.io.on('error', this.onError);
    this.write(PROMPT);
  }

  /** Stops reading; a running upload is cancelled so nothing half-sent is activated. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.repromptTimer) clearTimeout(this.repromptTimer);
    this.io.off('data', this.onData);
    this.io.off('error', this.onError);
    const upload = this.upload;
    if (upload) {
      upload.cancel();
      await upload.settled;
    }
  }

  private say(...lines: string[]): void {
    this.write(lines.map((l) => `${l}\r\n`).join(''));
  }

  /** Every byte to the line goes here, so the reprompt timer counts from the last one. */
  private write(text: string): void {
    if (this.io.writable && text !== '') this.io.write(text);
    this.armReprompt();
  }

  private armReprompt(): void {
    if (this.repromptTimer) clearTimeout(this.repromptTimer);
    const ms = this.o.repromptMs ?? 5000;
    if (ms <= 0 || this.stopped) return;
    this.repromptTimer = setTimeout(() => {
      const idle = !this.upload && !this.pumping && this.queue.length === 0 && !this.splitter.holdsPartialLine;
      if (idle) this.write(`\r${PROMPT}`);
      else this.armReprompt();
    }, ms);
    this.repromptTimer.unref();
  }

  private receive(bytes: Buffer): void {
    this.armReprompt();
    // Upload blocks are never echoed: they would double the traffic on a slow line.
    if (this.o.echo && !this.upload) this.write(echoBytes(bytes));
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

  private async handle(item: ConsoleItem): Promise<void> {
    if (this.upload) {
      try {
        await this.handleUploadLine(item, this.upload);
      } catch (e) {
        this.upload?.fail(asAbuError(e));
      }
      return;
    }
    const line = 'line' in item ? oneLine(item.line).slice(0, 80) : null;
    try {
      await this.handleCommand(item);
    } catch (e) {
      const err = asAbuError(e);
      this.logAnswer(line, err);
      this.answer(err);
    }
  }

  /** Ends one command's answer: the final OK or ERR line, then the prompt for the next. */
  private answer(result: string[] | AbuError): void {
    if (result instanceof AbuError) this.say(errLine(result.code, result.message));
    else this.say(...result, 'OK');
    this.write(PROMPT);
  }

  private async handleCommand(item: ConsoleItem): Promise<void> {
    if ('error' in item) throw item.error;
    // A frame of an upload that ended (failed while the host was still sending): no command, and said once.
    if ('frame' in item) throw new AbuError('ABU_ERR_SERIAL_BLOCK', 'no upload is running: a late binary frame of an ended upload was dropped');
    const cmd = parseCommand(item.line);
    if (!cmd) return this.write(PROMPT);
    if (cmd.verb === 'install') return this.beginUpload(cmd.args);
    const lines = await runCommand(this.engine, cmd.verb, cmd.args);
    this.logAnswer(oneLine(item.line).slice(0, 80), CHANGING_VERBS.has(cmd.verb) ? lines : []);
    this.answer(lines);
  }

  /** `"activate other": OK: slot B (1.1.0) will be tried...` or `"x": ERR ABU_ERR_USAGE ...`; a bad line has no text to name. */
  private logAnswer(line: string | null, result: string[] | AbuError): void {
    const what = line === null ? 'line refused' : JSON.stringify(line);
    const outcome = result instanceof AbuError ? errLine(result.code, result.message) : ['OK', ...result].join(': ');
    this.o.log?.(`${what}: ${outcome}`);
  }

  private async beginUpload(args: string[]): Promise<void> {
    const announce = parseInstallArgs(args);
    const { window, binary, ranges, rest } = takeTransferWords(args.slice(2));
    // A GET starts the host's part again: the idle timer runs while bytes are owed, not while the device scans or writes.
    const say = (line: string) => { if (this.upload === upload) { this.say(line); this.touch(); } };
    const upload: SerialUpload = new SerialUpload(this.engine, announce, installOptions(rest), { window, ranges, say });
    await upload.started();
    this.upload = upload;
    this.o.log?.(`install started: ${announce.size} bytes, sha256 ${announce.sha256}${args.length > 2 ? ` (${args.slice(2).join(' ')})` : ''}`);
    this.unsubscribe = this.engine.subscribe({ progress: (p) => this.progress(p), log: () => undefined });
    this.touch();
    void upload.result.then((r) => this.finishUpload(upload, formatInstalled(r)), (e) => this.finishUpload(upload, upload.explain(e)));
    // A host that asked for no window gets the READY it always got; one that did learns the window granted.
    // Frames are split from here on: the host sends none before it reads READY.
    // `ranges` only when the install took it (an adaptive one): the host then waits for GET lines instead of sending.
    this.splitter.frames = binary;
    const granted = upload.ranged ? ` ${RANGES_WORD}` : '';
    if (binary) this.say(`READY ${BINARY_BLOCK_BYTES} ${window} ${FRAMES_BINARY}${granted}`);
    else this.say(window > 1 || rest.length < args.length - 2 ? `READY ${BLOCK_BYTES} ${window}${granted}` : `READY ${BLOCK_BYTES}`);
    upload.ready();
  }

  private async handleUploadLine(item: ConsoleItem, upload: SerialUpload): Promise<void> {
    this.touch();
    if ('error' in item) return this.say(`NAK - ${item.error.code}`);
    const line = 'frame' in item ? null : item.line.trim();
    if (line === '') return;
    if (line === 'cancel') return upload.cancel(); // queued behind the install line that started the upload
    if (line === null || line.startsWith('D ')) {
      const reply = await upload.block('frame' in item ? item.frame : item.line.trim());
      if (this.upload === upload) this.say(...reply);
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
    this.splitter.framesUntilNextLine();
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.o.log?.(result instanceof AbuError ? `install failed: ${errLine(result.code, result.message)}` : `install finished: ${result.join('; ')}`);
    this.answer(result);
  }

  /** Re-arms the idle timer; after END the engine is working, not the host, so no timer runs. */
  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (!this.upload || this.upload.done) return;
    const ms = this.o.idleTimeoutMs ?? 60_000;
    this.idleTimer = setTimeout(() => {
      this.splitter.dropPartialFrame();
      this.upload?.fail(new AbuError('ABU_ERR_SERIAL_TIMEOUT', `no upload line for ${ms / 1000} s; upload abandoned, nothing was activated`));
    }, ms);
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
