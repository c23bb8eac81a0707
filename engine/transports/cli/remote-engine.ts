// The Engine facade over a running daemon, so CLI commands go through the daemon's one-operation lock.
import { AbuError } from '../../core/errors';
import type { EventSink } from '../../core/progress';
import type { SlotName } from '../../core/slot';
import type { ActivateOptions, ActivateResult, ApplianceStatus, BootCheckResult, Engine, HistoryEntry, InstallOptions, InstallResult } from '../../facade';
import { FileSource } from '../../sources/file-source';
import type { ImageSource } from '../../sources/image-source';
import type { DaemonClient } from './daemon-client';

export class RemoteEngine implements Engine {
  private readonly sinks = new Set<EventSink>();

  constructor(readonly client: DaemonClient) {}

  subscribe(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  status(): Promise<ApplianceStatus> {
    return this.client.status();
  }

  history(limit?: number): Promise<HistoryEntry[]> {
    return this.client.history(limit);
  }

  /** Files are streamed to the daemon; other sources (stdin) need --direct. */
  install(source: ImageSource, options: InstallOptions = {}): Promise<InstallResult> {
    if (!(source instanceof FileSource)) {
      throw new AbuError('ABU_ERR_USAGE', `the daemon at ${this.client.endpoint.url} takes files and URLs; for ${source.description} use --direct or stop the daemon`);
    }
    const fanout: EventSink = { progress: (e) => this.sinks.forEach((s) => s.progress(e)), log: (e) => this.sinks.forEach((s) => s.log(e)) };
    return this.client.installFileWithProgress(source.path, fanout, options.activate);
  }

  async activate(target: 'other' | SlotName, options: ActivateOptions = {}): Promise<ActivateResult> {
    return this.client.activate(target === 'other' ? undefined : target, false, options.acceptIrreversible);
  }

  async markGood(slot?: SlotName): Promise<void> {
    await this.client.markGood(slot);
  }

  async markBad(slot?: SlotName): Promise<void> {
    await this.client.markBad(slot);
  }

  bootCheck(): Promise<BootCheckResult> {
    // boot-check runs before the service starts (see bootloader-config/systemd); never through it.
    throw new AbuError('ABU_ERR_USAGE', 'boot-check runs directly, not through the daemon');
  }

  async reboot(): Promise<void> {
    await this.client.reboot();
  }

  async close(): Promise<void> {
    this.sinks.clear();
  }
}
