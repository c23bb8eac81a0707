// `abu status` text: a never-written slot reads "empty" (not only "bad"), and another process's lock shows as running.
import assert from 'node:assert/strict';
import type { ApplianceStatus } from '../../../engine/facade';
import { formatStatus } from '../../../engine/transports/cli/commands/status';

const status: ApplianceStatus = {
  product: 'p', booted: 'A', alternate: 'B', floor: null, pending: null, lastError: null, resumable: null,
  operation: 'install from upload "x.abu" (abu serve, pid 42)',
  lock: { pid: 42, operation: 'install from upload "x.abu"', owner: 'abu serve', since: '2026-01-01T00:00:00Z' },
  slots: [
    { name: 'A', device: 'd#2', version: '1.0.0', description: 'factory', irreversible: false, state: 'good', triesLeft: 3, booted: true, primary: true, image: 'verified' },
    { name: 'B', device: 'd#3', version: null, description: null, irreversible: false, state: 'bad', triesLeft: 0, booted: false, primary: false, image: 'empty' },
  ],
};

describe('abu status text', () => {
  it('shows what each slot holds and who holds the lock', () => {
    const text = formatStatus(status);
    assert.match(text, /^B +- +empty +bad /m);
    assert.match(text, /^A +1\.0\.0 +verified +good /m);
    assert.match(text, /running +install from upload "x\.abu" \(abu serve, pid 42\)/);
  });
});
