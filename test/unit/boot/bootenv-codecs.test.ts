// The native boot-env codecs through their TS facade: known-answer vectors, edge cases and typed errors.
import * as assert from 'node:assert/strict';
import {
  androidBootControlDecode, androidBootControlEncode, grubEnvDecode, grubEnvEncode, ubootEnvDecode, ubootEnvEncode, ubootEnvSelect,
  type AndroidBootControl,
} from '../../../native/bootenv';
import { crc32 } from '../../../native/crc32';

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c || assert.fail(`expected ${c}, got ${String(e)}`);
const KAT_ENV = ['bootcount=0', 'bootlimit=3', 'upgrade_available=0'];

describe('U-Boot env codec', () => {
  it('matches the mkenvimage known-answer vectors (0x00 padding written, 0xFF padding read)', () => {
    assert.equal(ubootEnvEncode(KAT_ENV, { size: 0x4000, redundant: false }).subarray(0, 8).toString('hex'), 'a8caa87d626f6f74');
    assert.equal(ubootEnvEncode(KAT_ENV, { size: 0x4000, redundant: true, flags: 1 }).subarray(0, 8).toString('hex'), 'a9693ea001626f6f');
    // 0xFF-padded images as mkenvimage makes them: the CRC covers the padding, so any padding must be accepted.
    for (const [redundant, crc] of [[false, 0x6a0087fc], [true, 0xbfcd7ec8]] as const) {
      const img = Buffer.alloc(0x4000, 0xff);
      const hdr = redundant ? 5 : 4;
      Buffer.from(KAT_ENV.join('\0') + '\0\0', 'latin1').copy(img, hdr);
      img.writeUInt32LE(crc, 0);
      if (redundant) img[4] = 1;
      assert.deepEqual(ubootEnvDecode(img, { redundant }), { crcValid: true, flags: redundant ? 1 : null, entries: KAT_ENV });
    }
  });

  it('stores the CRC big-endian when asked (mkenvimage -b)', () => {
    const le = ubootEnvEncode(KAT_ENV, { size: 0x4000, redundant: false });
    const be = ubootEnvEncode(KAT_ENV, { size: 0x4000, redundant: false, bigEndian: true });
    assert.equal(be.readUInt32BE(0), le.readUInt32LE(0));
    assert.equal(ubootEnvDecode(be, { redundant: false, bigEndian: true }).crcValid, true);
    assert.equal(ubootEnvDecode(be, { redundant: false }).crcValid, false);
  });

  it('reports a bad CRC without entries and an empty env as no entries', () => {
    const img = ubootEnvEncode(['a=1'], { size: 64, redundant: false });
    assert.deepEqual(ubootEnvDecode(ubootEnvEncode([], { size: 64, redundant: false }), { redundant: false }).entries, []);
    img[20] ^= 1;
    assert.deepEqual(ubootEnvDecode(img, { redundant: false }), { crcValid: false, flags: null, entries: null });
  });

  it('reads an env filled to its last byte (fw_setenv writes them) but writes with the terminator, one byte more', () => {
    // 64-byte env, 4-byte CRC: 60 bytes = entry + NUL + final NUL when abu writes.
    assert.equal(ubootEnvEncode(['k=' + 'v'.repeat(56)], { size: 64, redundant: false }).length, 64);
    assert.throws(() => ubootEnvEncode(['k=' + 'v'.repeat(57)], { size: 64, redundant: false }), code('ABU_ERR_BOOTENV_FULL'));
    assert.throws(() => ubootEnvEncode(['k=' + 'v'.repeat(56)], { size: 64, redundant: true }), code('ABU_ERR_BOOTENV_FULL'));
    const full = Buffer.alloc(64);
    full.write('k=' + 'v'.repeat(57), 4, 'latin1'); // its NUL is byte 63, no empty entry after it
    full.writeUInt32LE(crc32(full.subarray(4)) >>> 0, 0);
    assert.deepEqual(ubootEnvDecode(full, { redundant: false }).entries, ['k=' + 'v'.repeat(57)]);
  });

  it('rejects a CRC-valid copy whose last entry has no NUL', () => {
    const img = Buffer.alloc(32, 0x41); // "AAAA..." with no NUL at all
    img.writeUInt32LE(crc32(img.subarray(4)) >>> 0, 0);
    assert.throws(() => ubootEnvDecode(img, { redundant: false }), code('ABU_ERR_BOOTENV_FORMAT'));
  });

  it('keeps bytes above 0x7f and entries without "=" exactly', () => {
    const entries = ['caf\xe9=\xff\x80', '.flags=a:sw', 'noequals'];
    assert.deepEqual(ubootEnvDecode(ubootEnvEncode(entries, { size: 128, redundant: false }), { redundant: false }).entries, entries);
    assert.throws(() => ubootEnvEncode(['a=\u0100'], { size: 128, redundant: false }), code('ABU_ERR_BOOTENV_FORMAT'));
    assert.throws(() => ubootEnvEncode(['a\0b=1'], { size: 128, redundant: false }), code('ABU_ERR_BOOTENV_FORMAT'));
  });

  it('selects the copy exactly as env_check_redund', () => {
    const copy = (flags: number, ok = true) => {
      const b = ubootEnvEncode(['x=1'], { size: 64, redundant: true, flags });
      if (!ok) b[10] ^= 1;
      return b;
    };
    const cases: Array<[number, boolean, number, boolean, number]> = [
      [1, true, 2, true, 1], [2, true, 1, true, 0], [7, true, 7, true, 0], [255, true, 0, true, 1], [0, true, 255, true, 0],
      [255, true, 255, true, 0], [0, true, 0, true, 0], [254, true, 255, true, 1], [5, false, 1, true, 1], [1, true, 9, false, 0],
      [1, false, 2, false, -1],
    ];
    for (const [f0, ok0, f1, ok1, want] of cases) {
      assert.equal(ubootEnvSelect(copy(f0, ok0), copy(f1, ok1)).index, want, `flags (${f0}${ok0 ? '' : ' bad'}, ${f1}${ok1 ? '' : ' bad'})`);
    }
  });
});

describe('GRUB env block codec', () => {
  it('lays out the block as grub-editenv does (signature, comment, variables, # padding to 1024)', () => {
    const block = grubEnvEncode({ entries: [['ORDER', 'A B'], ['A_OK', '1'], ['A_TRY', '0']], comments: ['# WARNING'] });
    const text = block.toString('latin1');
    assert.equal(block.length, 1024);
    assert.equal(text.slice(0, 60), '# GRUB Environment Block\n# WARNING\nORDER=A B\nA_OK=1\nA_TRY=0\n');
    assert.match(text.slice(60), /^#+$/);
  });

  it('escapes backslash and newline and reads them back', () => {
    const entries: Array<[string, string]> = [['X', 'a\\b\nc\\'], ['E', '']];
    const block = grubEnvEncode({ entries, comments: [] });
    assert.equal(block.toString('latin1').slice(25, 40), 'X=a\\\\b\\\nc\\\\\nE=\n');
    const decoded = grubEnvDecode(block);
    assert.deepEqual([decoded.entries, decoded.comments], [entries, []]);
  });

  it('refuses only a missing signature and reads odd blocks as grub_envblk_iterate does', () => {
    const sig = '# GRUB Environment Block\n';
    const read = (body: string) => grubEnvDecode(Buffer.from(sig + body, 'latin1'));
    assert.throws(() => grubEnvDecode(Buffer.from('no signature\n' + '#'.repeat(100))), code('ABU_ERR_BOOTENV_FORMAT'));
    // A line without '=' and an empty line start the next name; a NUL cuts a value; a backslash stays in a name.
    assert.deepEqual(read('A=1\n\nB=2\nJUNK\nC=3\n# c\nN\\M=x\nD=v\0w\n' + '#'.repeat(40)).entries,
      [['A', '1'], ['\nB', '2'], ['JUNK\nC', '3'], ['N\\M', 'x'], ['D', 'v']]);
    // Reading stops, keeping what came before, at NUL or space padding and at a value running to the end.
    for (const [body, tail] of [['A=1\n\0\0\0', '\0\0\0'], ['A=1\n   ', '   '], ['A=1\nB=runs to the end', 'B=runs to the end']]) {
      const got = read(body);
      assert.deepEqual([got.entries, got.tail], [[['A', '1']], tail], JSON.stringify(body));
    }
  });

  it('rewrites unchanged lines byte for byte, adds after the last line GRUB reads, and re-pads a padding tail with #', () => {
    const sig = '# GRUB Environment Block\n';
    const block = Buffer.alloc(128, 0);
    block.write(sig + 'A=1\n# kept\nJUNK\nB=v\0w\n', 'latin1');
    const d = grubEnvDecode(block);
    const out = grubEnvEncode({ items: [...d.items, ['NEW', 'n', null]], tail: d.tail }, 128).toString('latin1');
    assert.equal(out, (sig + 'A=1\n# kept\nJUNK\nB=v\0w\nNEW=n\n').padEnd(128, '#'));
    const broken = Buffer.from((sig + 'A=1\nBROKEN').padEnd(64, '\0'), 'latin1');
    const b = grubEnvDecode(broken);
    assert.equal(grubEnvEncode({ items: [...b.items, ['C', '2', null]], tail: b.tail }, 64).toString('latin1'), (sig + 'A=1\nC=2\nBROKEN').padEnd(64, '\0'));
  });

  it('reports a block too small as ABU_ERR_BOOTENV_FULL and rejects bad names', () => {
    assert.throws(() => grubEnvEncode({ entries: [['BIG', 'x'.repeat(1000)]], comments: [] }), code('ABU_ERR_BOOTENV_FULL'));
    assert.equal(grubEnvEncode({ entries: [['BIG', 'x'.repeat(1024 - 25 - 5)]], comments: [] }).length, 1024);
    for (const name of ['', 'a=b', '#x', 'a\nb']) {
      assert.throws(() => grubEnvEncode({ entries: [[name, '1']], comments: [] }), code('ABU_ERR_BOOTENV_FORMAT'), JSON.stringify(name));
    }
  });
});

describe('Android bootloader_control codec', () => {
  const fresh: AndroidBootControl = {
    slotSuffix: '_a', magic: 0x42414342, version: 1, nbSlot: 2, recoveryTriesRemaining: 0, mergeStatus: 0,
    slots: [0, 1, 2, 3].map((i) => ({ priority: i < 2 ? 15 : 0, triesRemaining: i < 2 ? 7 : 0, successfulBoot: false, verityCorrupted: false })),
  };

  it('matches the known-answer vector (crc 0x321fef27)', () => {
    const bytes = androidBootControlEncode(fresh);
    assert.equal(bytes.toString('hex'), '5f61000042434142010200007f007f0000000000000000000000000027ef1f32');
    assert.deepEqual(androidBootControlDecode(bytes), { ...fresh, storedCrc: 0x321fef27, crcValid: true });
  });

  it('packs every bitfield, merge_status across bytes 9 and 10, and keeps reserved bytes from the base', () => {
    const base = Buffer.alloc(32, 0);
    base.fill(0xee, 20, 28); // reserved1
    base[11] = 0x77; // reserved0
    const fields: AndroidBootControl = {
      ...fresh, nbSlot: 4, recoveryTriesRemaining: 5, mergeStatus: 6,
      slots: [
        { priority: 1, triesRemaining: 2, successfulBoot: true, verityCorrupted: false },
        { priority: 15, triesRemaining: 7, successfulBoot: false, verityCorrupted: true },
        { priority: 0, triesRemaining: 0, successfulBoot: false, verityCorrupted: false },
        { priority: 9, triesRemaining: 1, successfulBoot: true, verityCorrupted: true },
      ],
    };
    const bytes = androidBootControlEncode(fields, base);
    assert.equal(bytes[9], 4 | (5 << 3) | ((6 & 3) << 6));
    assert.equal(bytes[10] & 1, 1);
    assert.equal(bytes[12], 1 | (2 << 4) | 0x80);
    assert.equal(bytes[11], 0x77);
    assert.equal(bytes.subarray(20, 28).toString('hex'), 'ee'.repeat(8));
    const { storedCrc, crcValid, ...decoded } = androidBootControlDecode(bytes);
    assert.ok(crcValid && storedCrc === bytes.readUInt32LE(28));
    assert.deepEqual(decoded, fields);
  });

  it('reports a CRC mismatch and refuses out-of-range fields', () => {
    const bytes = androidBootControlEncode(fresh);
    bytes[12] ^= 1;
    assert.equal(androidBootControlDecode(bytes).crcValid, false);
    const tooMany = { ...fresh, slots: [{ ...fresh.slots[0], triesRemaining: 8 }] };
    assert.throws(() => androidBootControlEncode(tooMany), code('ABU_ERR_BOOTENV_FORMAT'));
    assert.throws(() => androidBootControlEncode({ ...fresh, nbSlot: 5 }), code('ABU_ERR_BOOTENV_FORMAT'));
    assert.throws(() => androidBootControlDecode(Buffer.alloc(31)), code('ABU_ERR_BOOTENV_FORMAT'));
  });
});
