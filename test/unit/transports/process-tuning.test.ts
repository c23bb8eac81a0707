// tuneForSmallFootprint: in a tuned process a minor GC frees dead buffers' memory before it returns.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * Runs in a child: the flags are process-wide (no TurboFan would slow the rest of the suite). 50 rounds of 8 MiB of
 * 64 KiB buffers left dead, one minor GC each; with V8's default (sweeping in a background task) some rounds
 * still count the buffers when gc() returns (3 of 20 on an idle machine), tuned none may.
 */
const CHILD = `
  require(${JSON.stringify(path.join(__dirname, '../../../engine/transports/process-tuning.js'))}).tuneForSmallFootprint();
  const v8 = require('node:v8');
  v8.setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  let late = 0;
  for (let round = 0; round < 50; round++) {
    let dead = [];
    for (let i = 0; i < 128; i++) dead.push(Buffer.allocUnsafeSlow(64 * 1024));
    const before = process.memoryUsage().arrayBuffers;
    dead = null;
    gc({ type: 'minor' });
    if (before - process.memoryUsage().arrayBuffers < 7 * 1024 * 1024) late++;
  }
  process.stdout.write(String(late));
`;

describe('process tuning', () => {
  it('a minor GC frees the memory of the buffers it finds dead before it returns', () => {
    const late = Number(execFileSync(process.execPath, ['-e', CHILD], { encoding: 'utf8' }));
    assert.equal(late, 0, `${late} of 50 collections left their dead buffers' memory to a background task`);
  });
});
