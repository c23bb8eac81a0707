// The engine facade: the only API transports (CLI, HTTP, serial, cluster) call. Implemented in engine.ts.
import type { SlotBootState, SlotName } from './core/slot';
import type { EventSink, TransferCounts } from './core/progress';
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
  /**
   * What the slot holds as far as abu knows: a release whose whole image this appliance verified (or the
   * configured factory image), an install that started and did not finish, nothing ever written, or an image
   * abu has no record of (e.g. the booted one before any install).
   */
  image: 'verified' | 'incomplete' | 'empty' | 'unknown';
}

/** An activation written to the boot flags and not yet confirmed by a boot of that slot. */
export interface PendingView {
  slot: SlotName;
  version: string;
  time: string;
}

export interface ApplianceStatus {
  product: string;
  booted: SlotName;
  /** The slot that is not booted: where the next install goes, or the image to switch back to. */
  alternate: SlotName;
  slots: SlotView[];
  /** Versions older than this may not be installed or activated (set by irreversible releases). */
  floor: string | null;
  /**
   * What runs now, e.g. "install 1.1.0", or null. Includes an operation of another abu process
   * (the CLI with --direct, the serial console) that holds the appliance lock.
   */
  operation: string | null;
  /** The process holding the appliance lock, when one does. */
  lock: LockHolder | null;
  /** The slot that boots next on trial, or null when the booted slot boots next. */
  pending: PendingView | null;
  /** The newest failure; `past` once a later operation succeeded (show it as history, not as a current fault). */
  lastError: { code: string; message: string; time: string; past?: boolean } | null;
  /** An interrupted install the next install of the same bundle resumes from (its checkpoint), or null. */
  resumable: ResumableView | null;
}

export interface ResumableView {
  slot: SlotName;
  version: string;
  /** Chunks written, verified and synced before the interruption, of all the bundle's chunks. */
  chunksDone: number;
  chunks: number;
  savedAt: string;
}

/** Who holds the appliance lock (`<stateDir>/abu.lock`): one writer per appliance, whatever the entry point. */
export interface LockHolder {
  pid: number;
  /** The operation, e.g. "install from upload ...", "reboot". */
  operation: string;
  /** The entry point: "abu serve", "abu install --direct", "abu console", ... */
  owner: string;
  since: string;
}

export type HistoryKind = 'install' | 'activate' | 'mark-good' | 'mark-bad' | 'rollback' | 'boot' | 'install-failed' | 'interrupted';

export interface HistoryEntry {
  time: string;
  kind: HistoryKind;
  slot: SlotName;
  version?: string;
  message: string;
  code?: string;
  /** Adaptive installs: image bytes fetched, copied from the booted slot, skipped (already in the target). */
  transfer?: TransferCounts;
}

export interface InstallOptions {
  signal?: AbortSignal;
  /** Set the target try-once after a verified write (default: config install.activate). */
  activate?: boolean;
  /**
   * The operator's explicit yes to activating an irreversible release (it raises the floor once confirmed).
   * Without it an install that would activate one is refused before any byte is written
   * (ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED); installing it without activating needs no confirmation.
   */
  acceptIrreversible?: boolean;
  /** Restart into the new image once it is activated ("Install and restart"). Implies activate. */
  reboot?: boolean;
  /** Copy or keep what the appliance already holds, fetch only the rest (default: config install.adaptive). */
  adaptive?: boolean;
}

export interface ActivateOptions {
  /** Required to activate a slot holding an irreversible release above the floor. */
  acceptIrreversible?: boolean;
}

export interface ActivateResult {
  /** The slot that boots next. */
  slot: SlotName;
  /** False when nothing had to change (e.g. activating the booted slot that already boots next). */
  changed: boolean;
  /** One line for the operator: what boots next and why. */
  message: string;
}

export interface InstallResult {
  slot: SlotName;
  version: string;
  bytesWritten: number;
  seconds: number;
  activated: boolean;
  /** Adaptive installs: image bytes fetched from the bundle, copied from the booted slot, skipped (already in the target). */
  transfer?: TransferCounts;
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
  /** A long-running entry point at start: record an operation a killed process left unfinished (local engines only). */
  reconcile?(): Promise<void>;
  /** Verify and write a bundle into the alternate slot; throws AbuError (ABU_ERR_BUSY when one runs). */
  install(source: ImageSource, options?: InstallOptions): Promise<InstallResult>;
  /**
   * Choose what boots next: the alternate image ("other") or a named slot, refused below the floor or for a slot
   * without a verified release. Naming the booted slot keeps the current image: it undoes a pending activation,
   * or is a no-op (changed: false) when the booted slot already boots next.
   */
  activate(target: 'other' | SlotName, options?: ActivateOptions): Promise<ActivateResult>;
  markGood(slot?: SlotName): Promise<void>;
  markBad(slot?: SlotName): Promise<void>;
  /** Run at boot: health checks, then confirm or mark bad; records rollbacks. */
  bootCheck(): Promise<BootCheckResult>;
  /** Restart the appliance (configured command, or the simulated reboot). */
  reboot(): Promise<void>;
  close(): Promise<void>;
}
