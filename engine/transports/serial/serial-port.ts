// Opens a serial device with serialport, working around its poller losing a pending write wait (so a write never stalls).
import { SerialPort } from 'serialport';
import { AbuError } from '../../core/errors';

/** libuv's event bits as @serialport/bindings-cpp's Poller passes them. */
const UV_READABLE = 1;
const UV_WRITABLE = 2;

/** The part of @serialport/bindings-cpp's JS Poller this file relies on. */
export interface PollerLike {
  poll(flags?: number): void;
  listenerCount(event: string): number;
}

/**
 * serialport 13's native poller starts `uv_poll_start(fd, flags)` with only the flags of the latest wait, so a read
 * that waits for `readable` while a write waits for `writable` (after EAGAIN on a full line) drops the write's wait:
 * the write then sits until the other end sends something, and when the other end is waiting for the rest of that
 * line, forever (the pty test's 20,000-byte line stalled ~1 run in 5 on a busy machine). Every poll here asks for
 * what is being waited for plus the new wait, so no wait is ever dropped.
 */
export function keepPendingWaits(poller: PollerLike): void {
  const native = poller.poll.bind(poller);
  poller.poll = (flags = 0) => {
    let all = flags;
    if (poller.listenerCount('readable') > 0) all |= UV_READABLE;
    if (poller.listenerCount('writable') > 0) all |= UV_WRITABLE;
    native(all);
  };
}

type Binding = typeof SerialPort.binding;
/** The detected binding's open, typed loosely: its type is a union of the three platforms' option types. */
const detectedOpen = SerialPort.binding.open.bind(SerialPort.binding) as (options: unknown) => Promise<object>;

/** The detected binding, with every opened port's poller fixed as above (Windows ports have no poller). */
const binding: Binding = {
  ...SerialPort.binding,
  async open(options: unknown) {
    const port = await detectedOpen(options);
    const poller = (port as unknown as { poller?: PollerLike }).poller;
    if (poller) keepPendingWaits(poller);
    return port;
  },
} as Binding;

/** Opens the tty; serialport's errors lose the errno, so the message keeps the device path and what it said. */
export function openSerialPort(path: string, baudRate: number): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    // `binding` is an option of serialport's stream class that its SerialPort type leaves out; it is passed through.
    const port = new SerialPort({ path, baudRate, autoOpen: false, binding } as ConstructorParameters<typeof SerialPort>[0]);
    port.open((err) => {
      if (err) reject(new AbuError('ABU_ERR_SERIAL_DEVICE', `cannot open serial device ${path}: ${openFailure(err.message)}`, { cause: err, details: { path } }));
      else resolve(port);
    });
  });
}

/** serialport's "Error: No such file or directory, cannot open X" as what it means for the user, with what to do. */
function openFailure(message: string): string {
  const text = message.replace(/^Error: /, '').replace(/, cannot open .*$/, '');
  if (/no such file/i.test(text)) return 'no such device; name the tty with --device (e.g. /dev/ttyS1, /dev/ttyUSB0; see ls /dev/tty*)';
  if (/permission denied/i.test(text)) return 'permission denied; run as root or as a member of the tty\'s group (often dialout)';
  if (/inappropriate ioctl|not a tty/i.test(text)) return 'not a serial device (a tty); name the tty with --device';
  return text;
}
