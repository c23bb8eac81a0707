// Health check results as boot-check reports them: the exit status, with the command's output or "(no output)".
import assert from 'node:assert/strict';
import { runHealthChecks } from '../../../engine/install/health-checks';

describe('health checks', () => {
  it('reports a silent failure as "exit N (no output)", not a dangling "exit N: "', async () => {
    const [r] = await runHealthChecks([{ name: 'silent', command: 'exit 3', timeoutSeconds: 10 }]);
    assert.equal(r.ok, false);
    assert.equal(r.detail, 'exit 3 (no output)');
  });

  it('keeps what a failing check printed, and stops at the first failure', async () => {
    const results = await runHealthChecks([
      { name: 'ok', command: 'true', timeoutSeconds: 10 },
      { name: 'loud', command: 'echo "disk missing" >&2; exit 1', timeoutSeconds: 10 },
      { name: 'never', command: 'true', timeoutSeconds: 10 },
    ]);
    assert.deepEqual(results.map((r) => [r.name, r.ok, r.detail]), [['ok', true, 'passed'], ['loud', false, 'exit 1: disk missing']]);
  });
});
