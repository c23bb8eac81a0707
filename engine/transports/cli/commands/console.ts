// `abu console`: the serial console recovery path (device side), and `abu console push` to send a bundle over it (host side).
import * as path from 'node:path';
import type { SerialPort } from 'serialport';
import { AbuError } from '../../../core/errors';
import { ConsoleServer } from '../../serial/console-server';
import { pushBundle } from '../../serial/push-client';
import { openSerialPort } from '../../serial/serial-port';
import { PushProgressLine } from '../../serial/push-progress';
import type { Command, CliContext } from '../command';
import { checkReadableFile, humanBytes, parse, withEngine } from '../cli-support';

const DEFAULT_BAUD = 115200;

export const consoleCommand: Command = {
  name: 'console',
  summary: 'serve the recovery console on a serial line (push: send a bundle to one from the host)',
  usage: 'abu console --device PATH [--baud N] [--echo] [--config FILE] | abu console push --device PATH [--baud N] [--sha256 HEX] [--accept-irreversible] [--no-activate] [--no-adaptive] [--window N] [--frames binary|base64] FILE',
  async run(args, ctx) {
    if (args[0] === 'push') return push(args.slice(1), ctx);
    const { values, positionals } = parse(args, { device: { type: 'string' }, baud: { type: 'string' }, echo: { type: 'boolean' } }, false);
    if (positionals.length > 0) throw usage();
    const port = await openSerialPort(device(values.device), baud(values.baud));
    await withEngine(values, ctx, async (engine) => {
      // A console restarted after being killed mid-install says so in status and history before its first command.
      await engine.reconcile?.();
      // One line per command served and per install, on stderr (the journal under systemd).
      const log = (line: string) => void ctx.stderr.write(`abu console: ${line}\n`);
      const server = new ConsoleServer(engine, port, { echo: values.echo === true, log });
      server.start();
      ctx.stderr.write(`abu console: serving on ${port.path} at ${port.baudRate} baud; Ctrl-C stops\n`);
      await untilStoppedOrClosed(port);
      await server.stop();
    });
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    return 0;
  },
};

async function push(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(args, {
    device: { type: 'string' }, baud: { type: 'string' }, sha256: { type: 'string' }, 'accept-irreversible': { type: 'boolean' }, 'no-activate': { type: 'boolean' }, 'no-adaptive': { type: 'boolean' },
    window: { type: 'string' }, frames: { type: 'string' },
  });
  if (positionals.length !== 1) throw usage();
  await checkReadableFile(path.resolve(ctx.cwd, positionals[0]));
  const rate = baud(values.baud);
  const port = await openSerialPort(device(values.device), rate);
  try {
    // A block of 4 KiB of base64 takes ~0.36 s at 115200 baud; allow ten times that on slow lines.
    const ackTimeoutMs = Math.max(5000, Math.ceil((4200 * 10 * 1000 * 10) / rate));
    const line = new PushProgressLine(ctx.stderr, humanBytes);
    const result = await pushBundle(port, path.resolve(ctx.cwd, positionals[0]), {
      ackTimeoutMs,
      window: windowSize(values.window),
      frames: framesWord(values.frames),
      sha256: typeof values.sha256 === 'string' ? values.sha256.toLowerCase() : undefined,
      acceptIrreversible: values['accept-irreversible'] === true,
      noActivate: values['no-activate'] === true,
      // Without it a device that knows ranges asks only for what it lacks: a push cut short resumes.
      ranges: values['no-adaptive'] !== true,
      onProgress: values.json ? undefined : (p) => line.update(p),
    }).finally(() => line.end());
    if (values.json) ctx.stdout.write(JSON.stringify(result) + '\n');
    else ctx.stdout.write([...result.lines, `sent ${humanBytes(result.bytes)}${result.ranges ? ` of the ${humanBytes(result.size)} bundle (the device asked for what it lacked)` : ''} in ${result.seconds.toFixed(1)} s (${humanBytes(result.bytes / Math.max(result.seconds, 0.001))}/s as ${result.frames === 'binary' ? 'binary frames' : 'base64 lines'}, ${result.retransmits} resent)`].join('\n') + '\n');
    return 0;
  } finally {
    if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}

function windowSize(raw: string | boolean | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^[1-9][0-9]{0,2}$/.test(raw)) throw new AbuError('ABU_ERR_USAGE', '--window takes the blocks to keep in flight, 1-999 (1: one at a time)');
  return Number(raw);
}

/** Binary frames unless the operator asks for base64 (e.g. through a link that is not 8-bit clean). */
function framesWord(raw: string | boolean | undefined): 'binary' | 'base64' | undefined {
  if (raw === undefined) return undefined;
  if (raw !== 'binary' && raw !== 'base64') throw new AbuError('ABU_ERR_USAGE', '--frames takes binary (the default) or base64');
  return raw;
}

function device(raw: string | boolean | undefined): string {
  if (typeof raw !== 'string' || raw === '') throw new AbuError('ABU_ERR_USAGE', 'give the serial device with --device PATH (e.g. /dev/ttyS0)');
  return raw;
}

function baud(raw: string | boolean | undefined): number {
  if (raw === undefined) return DEFAULT_BAUD;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 50 || n > 4_000_000) throw new AbuError('ABU_ERR_USAGE', `--baud must be a rate like 115200, not ${String(raw)}`);
  return n;
}

function untilStoppedOrClosed(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    port.once('close', () => resolve());
    port.once('error', () => resolve());
  });
}

function usage(): AbuError {
  return new AbuError('ABU_ERR_USAGE', 'usage: ' + consoleCommand.usage);
}
