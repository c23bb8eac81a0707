// The console way to the guest's abu: CLI commands typed on the serial console, bundles on extra read-only disks.
import type { ApplianceStatus, HistoryEntry } from '../../engine/facade';
import type { Appliance } from './appliance';
import type { GuestAbu, GuestAnswer, GuestInstallOptions } from './guest-abu';

/** Generous: an install of a ~130 MiB image under TCG plus node's cold start. */
const COMMAND_TIMEOUT_MS = 180_000;

export class ConsoleGuestAbu implements GuestAbu {
  readonly via = 'console';

  /** @param bundles bundle files, pushed as `disks` (the i-th bundle is on /dev/vd[b+i]). */
  constructor(private readonly app: Appliance, private readonly bundles: string[], readonly disks: string[]) {}

  async ready(): Promise<ApplianceStatus> {
    await this.app.waitReady();
    return this.status();
  }

  async status(): Promise<ApplianceStatus> {
    return this.json('abu status --json');
  }

  async history(): Promise<HistoryEntry[]> {
    const body = await this.json<HistoryEntry[] | { entries: HistoryEntry[] }>('abu history --json');
    return Array.isArray(body) ? body : body.entries;
  }

  async install(bundle: string, options: GuestInstallOptions = {}): Promise<GuestAnswer> {
    const index = this.bundles.indexOf(bundle);
    if (index < 0) throw new Error(`${bundle} was not attached at boot: pass it to guestAbu(app, [bundles])`);
    const device = `/dev/vd${String.fromCharCode('b'.charCodeAt(0) + index)}`;
    return this.answer(`umount /mnt/bundle 2>/dev/null; mount -o ro ${device} /mnt/bundle && abu install /mnt/bundle/bundle.abu --json${options.activate === false ? ' --no-activate' : ''}${options.acceptIrreversible ? ' --accept-irreversible' : ''}`);
  }

  activate(target: string): Promise<GuestAnswer> {
    return this.answer(`abu activate ${target}`);
  }

  async reboot(): Promise<void> {
    // The command never returns: the machine restarts under it.
    this.app.running().console.write('abu reboot\n');
  }

  private async answer(command: string): Promise<GuestAnswer> {
    const { output, status } = await this.app.running().console.run(command, COMMAND_TIMEOUT_MS);
    const json = lastJsonLine(output);
    return { status: status === 0 ? 200 : 400, body: json ?? output };
  }

  private async json<T>(command: string): Promise<T> {
    const { output, status } = await this.app.running().console.run(command, COMMAND_TIMEOUT_MS);
    const json = lastJsonLine(output);
    if (status !== 0 || json === null) throw new Error(`${command} failed (exit ${status}): ${output}`);
    return json as T;
  }
}

/** The CLI's --json output: one document, pretty-printed or on one line, after any progress lines. */
function lastJsonLine(output: string): unknown {
  const lines = output.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!/^[{[]/.test(lines[i])) continue;
    try { return JSON.parse(lines.slice(i).join('\n')); } catch { /* an inner line of a pretty-printed document */ }
  }
  return null;
}
