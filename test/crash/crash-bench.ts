// Puts a copy of the appliance into one crash state: the operation's base files plus the units that reached the medium.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { CrashAppliance } from './crash-appliance';
import type { RecordedOperation } from './crash-scenario';
import type { CrashState } from './crash-states';

/** A working copy of an appliance folder; the live appliance is never touched by a crash check. */
export class CrashBench {
  private current: RecordedOperation | null = null;

  private constructor(readonly app: CrashAppliance, readonly dir: string) {}

  static async create(app: CrashAppliance, dir: string): Promise<CrashBench> {
    await fs.cp(app.dir, dir, { recursive: true });
    return new CrashBench(app, dir);
  }

  get configPath(): string {
    return path.join(this.dir, path.relative(this.app.dir, this.app.configPath));
  }

  /** The copy's path of a live appliance file. */
  local(file: string): string {
    return path.join(this.dir, path.relative(this.app.dir, file));
  }

  /**
   * Base files, then the persisted units in issue order. The first state of an operation rewrites every tracked
   * file whole; later ones restore only what a crash state or a boot-check can change (logged ranges, env regions).
   */
  async materialize(rec: RecordedOperation, state: CrashState): Promise<void> {
    const whole = this.current !== rec;
    this.current = rec;
    const disk = path.relative(this.app.dir, this.app.diskImage);
    for (const [rel, bytes] of rec.base) {
      if (rel === disk && !whole) await this.restoreRanges(rec, bytes!);
      else if (bytes === null) await fs.rm(path.join(this.dir, rel), { force: true });
      else await fs.writeFile(path.join(this.dir, rel), bytes);
    }
    for (const i of state.persisted) {
      const op = rec.ops[i];
      if (op.kind === 'write') await pwrite(this.local(op.file), op.position, op.bytes);
      else if (op.kind === 'rename') await fs.writeFile(this.local(op.file), op.bytes);
    }
  }

  private async restoreRanges(rec: RecordedOperation, base: Buffer): Promise<void> {
    const ranges = [...this.app.diskEnvRegions];
    for (const op of rec.ops) if (op.kind === 'write' && op.file === this.app.diskImage) ranges.push({ offset: op.position, size: op.bytes.length });
    const fh = await fs.open(this.local(this.app.diskImage), 'r+');
    try {
      for (const r of ranges) await fh.write(base, r.offset, r.size, r.offset);
    } finally {
      await fh.close();
    }
  }
}

async function pwrite(file: string, position: number, bytes: Buffer): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    await fh.write(bytes, 0, bytes.length, position);
  } finally {
    await fh.close();
  }
}
