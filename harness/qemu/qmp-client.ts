// A minimal QMP client: capabilities handshake, then one command at a time (system_reset, quit, query-status).
import type * as net from 'node:net';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class QmpClient {
  private buffer = '';
  private readonly pending: Pending[] = [];
  private greeted: Promise<void>;

  constructor(private readonly socket: net.Socket) {
    let onGreeting: () => void = () => undefined;
    this.greeted = new Promise((resolve) => { onGreeting = resolve; });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk, onGreeting));
    socket.on('close', () => this.failAll(new Error('QMP connection closed (QEMU exited)')));
    socket.on('error', (e) => this.failAll(e));
  }

  /** Waits for the greeting and leaves capabilities negotiation mode, as QMP requires before any command. */
  async handshake(): Promise<void> {
    await this.greeted;
    await this.execute('qmp_capabilities');
  }

  /** Runs one QMP command and resolves with its "return" value; a QMP "error" rejects. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      const message = args === undefined ? { execute: command } : { execute: command, arguments: args };
      this.socket.write(JSON.stringify(message) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string, onGreeting: () => void): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line !== '') this.onMessage(JSON.parse(line) as Record<string, unknown>, onGreeting);
    }
  }

  private onMessage(message: Record<string, unknown>, onGreeting: () => void): void {
    if ('QMP' in message) return onGreeting();
    if ('event' in message) return; // asynchronous events (RESET, SHUTDOWN) are not replies
    const waiter = this.pending.shift();
    if (waiter === undefined) return;
    if ('error' in message) waiter.reject(new Error(`QMP: ${JSON.stringify(message.error)}`));
    else waiter.resolve(message.return);
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.splice(0)) waiter.reject(error);
  }
}
