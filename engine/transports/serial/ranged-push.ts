// The host side of a push the device granted `ranges`: answers each `GET <start> <length>` with blocks, until the device's final answer.
import type { Duplex } from 'node:stream';
import { AbuError } from '../../core/errors';
import type { BlockSender } from './block-sender';
import type { LineReader, PushOptions } from './push-client';

const GET_LINE = /^GET ([0-9]{1,16}) ([0-9]{1,16})$/;

/**
 * The device drives: it asks for the head, scans its slots, then asks for the runs of chunks it lacks. Each GET's bytes
 * are queued behind the blocks still in flight (same window, same CRC and resends). Resolves with the device's lines
 * before its final `OK`; throws its `ERR`. While no block is owed, the device is reading the head, scanning or writing:
 * the wait is `finishTimeoutMs`, which its PROGRESS lines restart.
 */
export async function answerRanges(io: Duplex, reader: LineReader, sender: BlockSender, size: number, o: PushOptions, wholeFileChecked: () => Promise<AbuError | null>): Promise<string[]> {
  const refused = await wholeFileChecked();
  if (refused) return cancelled(io, reader, o, refused);
  const lines: string[] = [];
  for (;;) {
    const line = sender.idle ? await reader.next(o.finishTimeoutMs ?? 120_000) : await sender.step();
    if (line === null) continue;
    if (line === 'OK') return lines;
    const get = GET_LINE.exec(line);
    const [start, length] = get ? [Number(get[1]), Number(get[2])] : [0, 0];
    if (!get) {
      if (!(await sender.answer(line))) lines.push(line);
    } else if (length >= 1 && start + length <= size) sender.add(start, length);
    else {
      // The device and this host disagree on the bundle: stop the device's install, then say so.
      return cancelled(io, reader, o, new AbuError('ABU_ERR_SERIAL_BLOCK', `the device asked for bytes ${start}-${start + length - 1} of a ${size}-byte bundle; the push was cancelled, nothing was activated`, { details: { start, length, size } }));
    }
  }
}

/**
 * Cancels the device's install and waits for its final answer (ERR ABU_ERR_CANCELLED), so the next command on the
 * line does not read it as its own; then throws `why`.
 */
async function cancelled(io: Duplex, reader: LineReader, o: PushOptions, why: AbuError): Promise<never> {
  io.write('cancel\n');
  for (;;) {
    const line = await reader.next(o.finishTimeoutMs ?? 120_000).catch(() => 'ERR');
    if (line === 'OK' || line.startsWith('ERR')) throw why;
  }
}
