// The guest's serial console as lines: a log file of everything, waitForLine with timeouts, and commands run in the guest shell.
import * as fs from 'node:fs';
import type * as net from 'node:net';

/** ANSI escapes and carriage returns the guest's tty and GRUB's terminal emit; they would break line matching. */
const NOISE = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r/g;

interface Waiter {
  pattern: RegExp;
  resolve: (match: RegExpMatchArray) => void;
}

export class SerialConsole {
  /** Every complete line since the machine started. */
  readonly lines: string[] = [];
  /** When each of `lines` was complete on the host (Date.now()): the serial timestamps of a run. */
  readonly times: number[] = [];
  /** Lines before this index were consumed by an earlier waitForLine. */
  private cursor = 0;
  private partial = '';
  private waiter: Waiter | null = null;
  private commandCount = 0;
  private closed = false;

  constructor(private readonly socket: net.Socket, private readonly log: fs.WriteStream) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => { this.closed = true; });
  }

  /**
   * Resolves with the first line after the last matched one that matches `pattern`.
   * Rejects after `timeoutMs` with the console's tail, so a failing test shows what the guest said.
   */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const found = this.scan(pattern);
    if (found !== null) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no console line matched ${pattern} within ${timeoutMs} ms; last lines:\n${this.tail(15)}`));
      }, timeoutMs);
      this.waiter = { pattern, resolve: (m) => { clearTimeout(timer); this.waiter = null; resolve(m); } };
    });
  }

  /** Sends raw text to the guest (the console shell reads it as typed input). */
  write(text: string): void {
    if (this.closed) throw new Error('the serial console is closed (QEMU exited)');
    this.socket.write(text);
  }

  /**
   * Runs a shell command on the guest console and returns its output and exit status.
   * The end marker is computed by the shell ($((n))), so the echoed command line never matches it.
   */
  async run(command: string, timeoutMs: number): Promise<{ output: string; status: number }> {
    const n = ++this.commandCount;
    const start = this.lines.length;
    this.write(`${command}; echo "@@END$((${n}))@@ rc=$?"\n`);
    const match = await this.waitForLine(new RegExp(`^@@END${n}@@ rc=(\\d+)`), timeoutMs);
    const end = this.lines.lastIndexOf(match.input ?? '');
    // Output starts after the shell's echo of the command (anything before it is earlier console noise).
    const echo = this.lines.findIndex((l, i) => i >= start && i < end && l.includes(`@@END$((${n}))@@`));
    const output = this.lines.slice(echo < 0 ? start : echo + 1, end);
    return { output: output.join('\n'), status: Number(match[1]) };
  }

  /** Skip everything seen so far: the next waitForLine only looks at new output. */
  skipSeen(): void {
    this.cursor = this.lines.length;
  }

  tail(count: number): string {
    return this.lines.slice(-count).join('\n') + (this.partial === '' ? '' : `\n${this.partial}`);
  }

  private onData(chunk: Buffer): void {
    this.log.write(chunk);
    const text = this.partial + chunk.toString('latin1').replace(NOISE, '');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    const now = Date.now();
    for (let i = 0; i < parts.length; i++) this.times.push(now);
    if (this.waiter !== null) {
      const found = this.scan(this.waiter.pattern);
      if (found !== null) this.waiter.resolve(found);
    }
  }

  private scan(pattern: RegExp): RegExpMatchArray | null {
    for (let i = this.cursor; i < this.lines.length; i++) {
      const match = this.lines[i].match(pattern);
      if (match !== null) {
        this.cursor = i + 1;
        return match;
      }
    }
    return null;
  }
}
