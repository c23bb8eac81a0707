// The CLI command seam: each command file exports one Command; main.ts dispatches by name.
import type { Readable, Writable } from 'node:stream';

export interface CliContext {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], ctx: CliContext): Promise<number>;
}
