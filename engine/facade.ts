// The engine facade: the only API transports (CLI, HTTP, serial, cluster) call. Implemented in engine.ts.
import type { SlotBootState, SlotName } from './core/slot';
import type { EventSink } from './core/progress';
import type { ImageSource } from './sources/image-source';

export interface SlotView {
  name: SlotName;
  device: string;
  /** null when abu never recorded an install into the slot. */
  version: string | null;
  description: string | null;
  irreversible: boolean;
  state: SlotBootState;
  triesLeft: number;
  booted: boolean;
  primary: boolean;
}

export interface ApplianceStatus {
  product: string;
  booted: SlotName;
  /** The slot that is not booted: where the next install goes, or the image to switch back to. */
  alternate: SlotName;
  slots: SlotView[];
  /** Versions older than this may not be installed or activated (set by irreversible releases). */
  floor: string | null;
  /** What runs now, e.g. "install 1.1.0", or null. */
  operation: string | null;
  lastError: { code: string; message: string; time: string } | null;
}

export type HistoryKind = 'install' | 'activate' | 'mark-good' | 'mark-bad' | 'rollback' | 'boot' | 'install-failed';

export interface HistoryEntry {
  time: string;
  kind: HistoryKind;
  slot: SlotName;
  version?: string;
  message: string;
  code?: string;
}

export interface InstallOptions {
  signal?: AbortSignal;
  /** Set the target try-once after a verified write (default true). */
  activate?: boolean;
}

export interface InstallResult {
  slot: SlotName;
  version: string;
  bytesWritten: number;
  seconds: number;
  activated: boolean;
}

export interface BootCheckResult {
  booted: SlotName;
  outcome: 'confirmed' | 'already-good' | 'marked-bad' | 'unhealthy-no-fallback' | 'rollback-detected';
  message: string;
}

export interface Engine {
  /** Event fan-out for progress bars and logs. */
  subscribe(sink: EventSink): () => void;
  status(): Promise<ApplianceStatus>;
  history(limit?: number): Promise<HistoryEntry[]>;
  /** Verify and write a bundle into the alternate slot; throws AbuError (ABU_ERR_BUSY when one runs). */
  install(source: ImageSource, options?: InstallOptions): Promise<InstallResult>;
  /** Switch the next boot to the alternate image ("other") or a named slot; refused below the floor. */
  activate(target: 'other' | SlotName): Promise<void>;
  markGood(slot?: SlotName): Promise<void>;
  markBad(slot?: SlotName): Promise<void>;
  /** Run at boot: health checks, then confirm or mark bad; records rollbacks. */
  bootCheck(): Promise<BootCheckResult>;
  /** Restart the appliance (configured command, or the simulated reboot). */
  reboot(): Promise<void>;
  close(): Promise<void>;
}
