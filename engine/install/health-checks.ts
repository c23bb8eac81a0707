// Runs the configured health checks (shell commands with timeouts) for boot-check.
import { spawn } from 'node:child_process';
import type { HealthCheckConfig } from '../config';

export interface HealthResult {
  name: string;
  ok: boolean;
  detail: string;
}

export async function runHealthChecks(checks: HealthCheckConfig[], env: NodeJS.ProcessEnv = process.env): Promise<HealthResult[]> {
  const results: HealthResult[] = [];
  for (const check of checks) {
    const result = await runOne(check, env);
    results.push(result);
    if (!result.ok) break; // later checks cannot rescue a failed one
  }
  return results;
}

function runOne(check: HealthCheckConfig, env: NodeJS.ProcessEnv): Promise<HealthResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', check.command], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-2000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      resolve({ name: check.name, ok: false, detail: `timed out after ${check.timeoutSeconds}s` });
    }, check.timeoutSeconds * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ name: check.name, ok: false, detail: e.message });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const ok = code === 0;
      resolve({ name: check.name, ok, detail: ok ? 'passed' : failure(code, signal, output.trim()) });
    });
  });
}

/** "exit 1: <what it printed>", or "exit 1 (no output)": a bare "exit 1: " read as if the message were cut off. */
function failure(code: number | null, signal: NodeJS.Signals | null, output: string): string {
  const how = code !== null ? `exit ${code}` : `killed by ${signal}`;
  return output ? `${how}: ${output}` : `${how} (no output)`;
}
