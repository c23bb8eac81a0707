// The Engine facade over a running daemon, so CLI commands go through the daemon's one-operation lock.
import * as path from 'node:path';
import { AbuError } from '../../core/errors';
import type { EventSink } from '../../core/progress';
import type { SlotName } from '../../core/slot';
import type { ActivateOptions, ActivateResult, ApplianceStatus, BootCheckResult, Engine, HistoryEntry, InstallOptions, InstallResult } from '../../facade';
import { FileSource } from '../../sources/file-source';
import type { ImageSource } from '../../sources/image-source';
import type { DaemonClient, RemoteInstallOptions } from './daemon-client';

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

  /** Streams any source (a file, stdin) to the daemon as an upload; the daemon verifies and writes it. */
  async install(source: ImageSource, options: InstallOptions = {}): Promise<InstallResult> {
    const body = await source.open();
    const name = source instanceof FileSource ? path.basename(source.path) : source.description;
    return this.client.withProgress(this.fanout(), () => this.client.upload({ body, size: source.sizeHint, name }, remoteOptions(options)));
  }

  /** The daemon downloads the bundle itself (POST /api/install-url), with its own retries and Range resume. */
  installUrl(url: string, options: InstallOptions = {}): Promise<InstallResult> {
    return this.client.withProgress(this.fanout(), () => this.client.installUrl(url, remoteOptions(options)));
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

  private fanout(): EventSink {
    return { progress: (e) => this.sinks.forEach((s) => s.progress(e)), log: (e) => this.sinks.forEach((s) => s.log(e)) };
  }
}

/** A signal cannot cross the wire: Ctrl-C ends the CLI, and the daemon's Cancel stops its run. */
function remoteOptions(o: InstallOptions): RemoteInstallOptions {
  return { activate: o.activate, acceptIrreversible: o.acceptIrreversible, reboot: o.reboot, adaptive: o.adaptive };
}
