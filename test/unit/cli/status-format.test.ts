// `abu status` text: a never-written slot reads "empty" (not only "bad"), another process's lock shows as running,
// the apply warnings, and an install that can resume.
import assert from 'node:assert/strict';
import type { ApplianceStatus } from '../../../engine/facade';
import { applyWarnings } from '../../../engine/policy/apply-warnings';
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

  it('shows the floor and irreversible warnings the page and the API show', () => {
    const floored: ApplianceStatus = { ...status, floor: '1.2.0', slots: [status.slots[0], { ...status.slots[1], version: '1.3.0', irreversible: true, image: 'verified' }] };
    const text = formatStatus({ ...floored, warnings: applyWarnings(floored) });
    assert.match(text, /^warning +The alternate image 1\.3\.0 is an irreversible release/m);
    assert.match(text, /^warning +This appliance has installed the irreversible release 1\.2\.0/m);
    assert.doesNotMatch(formatStatus({ ...status, warnings: applyWarnings(status) }), /warning/, 'nothing to warn about: no warning line');
  });

  it('shows an interrupted install that can resume, only while nothing runs', () => {
    const resumable = { slot: 'B', version: '1.1.0', chunksDone: 57, chunks: 64, savedAt: '2026-01-01T00:00:00Z' };
    assert.match(formatStatus({ ...status, operation: null, resumable }), /^resumable 1\.1\.0 into B: 57 of 64 chunks written and synced/m);
    assert.doesNotMatch(formatStatus({ ...status, resumable }), /resumable/);
  });
});
