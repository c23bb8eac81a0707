// BootStateStore over a variable-based env (U-Boot env, GRUB block): the state is the variables.
import type { EnvVars } from './env-vars';
import type { BootStateStore } from './scheme-backend';

/** An env on disk that reads a snapshot and writes new variables power-safely relative to it. */
export interface VarEnv<Snapshot extends { vars: EnvVars }> {
  read(): Promise<Snapshot>;
  write(from: Snapshot, vars: EnvVars): Promise<void>;
}

export class VarEnvStateStore<Snapshot extends { vars: EnvVars }> implements BootStateStore<EnvVars, Snapshot> {
  constructor(
    readonly description: string,
    private readonly env: () => Promise<VarEnv<Snapshot>>,
  ) {}

  async load(): Promise<{ state: EnvVars; snapshot: Snapshot }> {
    const snapshot = await (await this.env()).read();
    return { state: snapshot.vars, snapshot };
  }

  async save(state: EnvVars, from: Snapshot): Promise<void> {
    await (await this.env()).write(from, state);
  }
}
