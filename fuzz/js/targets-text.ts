// Fuzz targets for text inputs: fw_env.config, the serial console protocol, and what HTTP clients send.
import * as path from 'node:path';
import type { FastifyRequest } from 'fastify';
import { parseFwEnvConfig } from '../../engine/boot/fw-env-config';
import { checkBearer } from '../../engine/transports/http/auth';
import { contentLength, displayName, jsonBody, optionalBoolean, optionalSlot, requiredString } from '../../engine/transports/http/request-input';
import { installOptions } from '../../engine/transports/http/routes-install';
import { contentRange } from '../../engine/transports/http/routes-site-peer';
import { parseLimit } from '../../engine/transports/http/routes-status';
import { decodeBlock, echoBytes, LineSplitter, parseCommand, parseInstallArgs, takeTransferWords } from '../../engine/transports/serial/console-protocol';
import { MAX_FRAME_BYTES, decodeFrame } from '../../engine/transports/serial/binary-frame';
import { ConsoleSplitter } from '../../engine/transports/serial/frame-splitter';
import { PropertyViolation, typed, type FuzzTarget } from './property';

const ENGINE = path.resolve(__dirname, '..', '..', 'engine');

export const fwEnvConfigTarget: FuzzTarget = {
  name: 'fw_env_config',
  files: [path.join(ENGINE, 'boot', 'fw-env-config.js')],
  tokens: ['/dev/mtd0', 'env.img', ' ', '\t', '\n', '\r\n', '#', '0x', '0X', '-', '0', '7', '8', '9', 'f', 'F', '4000', '0x4000', '-0x8000', '99999999999999999999', '0x1fffffffffffff'],
  run(input) {
    typed('parseFwEnvConfig', () => parseFwEnvConfig(input.toString('utf8'), '/fuzz'));
  },
};

// Byte 0 picks line editing (bit 0) and where the stream is cut into reads (the rest), as a serial port delivers it.
function consoleLines(input: Buffer): string[] {
  const splitter = new LineSplitter(undefined, ((input[0] ?? 0) & 1) === 1);
  const step = 1 + ((input[0] ?? 0) >> 1);
  const lines: string[] = [];
  for (let i = 1; i < input.length; i += step) {
    for (const item of splitter.push(input.subarray(i, i + step))) {
      if ('line' in item) lines.push(item.line);
      else typed('LineSplitter', () => { throw item.error; });
    }
  }
  return lines;
}

/** The same bytes as a binary upload sees them: frames bounded and free of 0x00, lines text only, every frame typed. */
function binaryUpload(input: Buffer): void {
  const splitter = new ConsoleSplitter(new LineSplitter());
  splitter.frames = true;
  const step = 1 + ((input[0] ?? 0) >> 1);
  for (let i = 1; i < input.length; i += step) {
    for (const item of splitter.push(input.subarray(i, i + step))) {
      if ('frame' in item) {
        if (item.frame.includes(0) || item.frame.length > MAX_FRAME_BYTES) throw new PropertyViolation(`ConsoleSplitter handed out a frame of ${item.frame.length} bytes holding 0x00 or too long`);
        typed('decodeFrame', () => decodeFrame(item.frame));
      } else if ('line' in item && /[^\x09\x20-\x7e]/.test(item.line)) throw new PropertyViolation(`ConsoleSplitter let a non-text byte into a line: ${JSON.stringify(item.line)}`);
    }
  }
}

export const serialConsoleTarget: FuzzTarget = {
  name: 'serial_console',
  files: ['console-protocol.js', 'frame-splitter.js', 'binary-frame.js', 'cobs.js'].map((f) => path.join(ENGINE, 'transports', 'serial', f)),
  tokens: ['D ', 'END', 'install ', 'status', 'activate', 'mark-good', 'history', ' ', '\t', '\r', '\n', '\r\n', '\x7f', '\b', '=', '==', 'aGVsbG8=', '3610a686', '0', '4096', 'f'.repeat(64), 'accept-irreversible', 'frames=binary', 'window=8', 'ranges', 'no-adaptive', '\x00', '\x00\x00', '\x01', '\xff'],
  run(input) {
    echoBytes(input);
    for (const line of consoleLines(input)) {
      if (/[^\x09\x20-\x7e]/.test(line)) throw new PropertyViolation(`LineSplitter let a non-text byte through: ${JSON.stringify(line)}`);
      typed('parseCommand', () => {
        const cmd = parseCommand(line);
        if (cmd?.verb === 'install') {
          parseInstallArgs(cmd.args);
          takeTransferWords(cmd.args.slice(2));
        }
      });
      typed('decodeBlock', () => decodeBlock(line));
    }
    binaryUpload(input);
  },
};

// The seam: a fake FastifyRequest with the fuzzed body, query and headers. Fastify's own parsing is not fuzzed
// here; what abu does with what it hands over is.
function request(input: Buffer): FastifyRequest {
  const text = input.toString('utf8');
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: the raw text stands for a body fastify parsed as text */
  }
  const header = text.slice(0, 120);
  const headers = { 'content-length': header, 'x-abu-filename': header, 'content-range': header, authorization: header };
  return { body, query: body, headers } as unknown as FastifyRequest;
}

export const httpInputTarget: FuzzTarget = {
  name: 'http_input',
  files: ['request-input.js', 'routes-status.js', 'routes-install.js', 'routes-site-peer.js', 'auth.js'].map((f) => path.join(ENGINE, 'transports', 'http', f)),
  tokens: ['{', '}', '[', ']', '"', ':', ',', 'null', 'true', 'false', '"slot"', '"activate"', '"name"', '"limit"', '"1"', '"0"', '1e3', '-0', 'bytes ', '/', '-', '%', '%2F', '..', 'Bearer '],
  run(input) {
    const req = request(input);
    typed('jsonBody', () => {
      const body = jsonBody(req);
      for (const f of ['slot', 'name', 'activate', 'limit']) {
        typed('optionalSlot', () => optionalSlot(body, f));
        typed('optionalBoolean', () => optionalBoolean(body, f, undefined));
        typed('requiredString', () => requiredString(body, f, 64));
      }
      typed('installOptions', () => installOptions(body));
      typed('jsonBody fields', () => jsonBody(req, ['slot', 'reboot', 'acceptIrreversible']));
      typed('parseLimit', () => parseLimit(body.limit));
    });
    typed('contentLength', () => contentLength(req));
    typed('contentRange', () => contentRange(req));
    typed('checkBearer', () => checkBearer(req.headers.authorization, 'fuzz-token-0123456789'));
    const name = displayName(req);
    if (!/^[\x20-\x7e]{1,100}$/.test(name) || name.startsWith('.') || /[\\/]/.test(name)) throw new PropertyViolation(`displayName gave ${JSON.stringify(name)}`);
  },
};
