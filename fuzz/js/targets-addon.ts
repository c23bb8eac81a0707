// Fuzz target for the addon boundary: the boot-env codecs' encoders called through their facade with fuzzed
// arguments (sizes as any double, entries with any characters, Android fields out of range). Property: a result or
// an Error whose code is an ABU_ERR_* code; a crash here kills the whole process, as it would the daemon.
import * as path from 'node:path';
import { androidBootControlEncode, grubEnvEncode, ubootEnvEncode, ANDROID_BOOT_CTRL_MAGIC } from '../../native/bootenv';
import { PropertyViolation, type FuzzTarget } from './property';

// Bytes -> arguments, like libFuzzer's FuzzedDataProvider: a double for sizes (NaN, infinities, negatives, 2^60
// all reachable), then text split at 0x01 into entries; bytes >= 0xF0 widen a character above U+00FF.
function args(input: Buffer): { op: number; size: number; words: string[] } {
  const head = Buffer.alloc(9);
  input.copy(head, 0, 0, 9);
  const op = head[0] % 3;
  const small = head[0] & 0x80;
  const size = small ? head.readInt16LE(1) : head.readDoubleLE(1);
  const text = [...input.subarray(9)].map((b) => String.fromCharCode(b >= 0xf0 ? 0x100 + b : b)).join('');
  return { op, size, words: text.split('\x01') };
}

function call(op: number, size: number, words: string[]): unknown {
  if (op === 0) return ubootEnvEncode(words, { size, redundant: (words.length & 1) === 1, flags: size });
  if (op === 1) return grubEnvEncode({ entries: words.map((w) => [w.split('=')[0], w.slice(w.indexOf('=') + 1)] as [string, string]), comments: words.filter((w) => w.startsWith('#')) }, size);
  const slot = { priority: size, triesRemaining: words.length, successfulBoot: size > 0, verityCorrupted: false };
  return androidBootControlEncode({
    slotSuffix: words[0] ?? '', magic: ANDROID_BOOT_CTRL_MAGIC, version: size, nbSlot: words.length, recoveryTriesRemaining: 0, mergeStatus: size,
    slots: words.slice(0, 5).map((w) => (w.length % 3 === 0 ? slot : w.length % 3 === 1 ? w : null)) as never,
  });
}

export const addonCodecsTarget: FuzzTarget = {
  name: 'addon_codecs',
  files: [path.resolve(__dirname, '..', '..', 'native', 'bootenv.js')],
  run(input) {
    const { op, size, words } = args(input);
    try {
      call(op, size, words);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('ABU_ERR_')) {
        throw new PropertyViolation(`op ${op} size ${size}: uncoded ${(e as Error).constructor.name}: ${(e as Error).message}`.slice(0, 300));
      }
    }
  },
};
