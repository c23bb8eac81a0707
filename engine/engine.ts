// The engine: builds implementations from config (the only place that does) and runs one operation at a time.
import { faultPoint } from './core/fault-point';
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { AbuError, isAbuError } from './core/errors';
import { PROGRESS_SCHEMA, type EventSink, type LogEvent, type ProgressEvent } from './core/progress';
import type { SlotName } from './core/slot';
import { loadConfig, type AbuConfig } from './config';
import type { BootFlagBackend } from './boot/boot-flag-backend';
import { createBootFlagBackend } from './boot/registry';
import type { ActivateOptions, ActivateResult, ApplianceStatus, BootCheckResult, Engine, HistoryEntry, InstallOptions, InstallResult, LockHolder } from './facade';
import { bootConfirm, confirmGood } from './install/boot-confirm';
import { activateSlot, keepBooted } from './install/activation';
import { bootedSlot } from './slots/booted-slot';
import { DeviceSlotStore } from './slots/device-slot-store';
import type { SlotStore } from './slots/slot-store';
import type { ImageSource } from './sources/image-source';
import { ApplianceLock } from './state/appliance-lock';
import { historyEntry, StateStore, type SlotRecord } from './state/state-store';
import { buildStatus } from './status';

export interface EngineParts {
  config: AbuConfig;
  slots: SlotStore;
  boot: BootFlagBackend;
  state: StateStore;
  lock: ApplianceLock;
}

export interface EngineOptions {
  /** The entry point named to a second writer refused by the appliance lock (default: this command line). */
  owner?: string;
}

export async function createEngine(configPath: string, options: EngineOptions = {}): Promise<AbuEngine> {
  const config = await loadConfig(configPath);
  return new AbuEngine({
    config,
    slots: new DeviceSlotStore(config.slots),
    boot: await createBootFlagBackend(config.bootloader),
    state: new StateStore(config.stateDir),
    lock: new ApplianceLock(config.stateDir, options.owner ?? commandLine()),
  });
}

/** "abu install --direct x.abu": how a holder of the lock is shown to the operator. */
function commandLine(): string {
  const args = process.argv.slice(2).map((a) => (a.includes('/') ? path.basename(a) : a));
  return ['abu', ...args].join(' ').slice(0, 120);
}

export class AbuEngine implements Engine {
  private readonly sinks = new Set<EventSink>();
  private operation: string | null = null;

  constructor(readonly parts: EngineParts) {}

  subscribe(sink: EventSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  async status(): Promise<ApplianceStatus> {
    const holder = await this.parts.lock.holder();
    const operation = this.operation ?? (holder ? `${holder.operation} (${holder.owner}, pid ${holder.pid})` : null);
    return buildStatus(this.parts, await this.booted(), operation, holder);
  }

  async history(limit = 100): Promise<HistoryEntry[]> {
    return (await this.parts.state.load()).history.slice(-limit).reverse();
  }

  install(source: ImageSource, options: InstallOptions = {}): Promise<InstallResult> {
    return this.exclusive(`install from ${source.description}`, async (op) => {
      const booted = await this.booted();
      const { install, loadKeyring } = await installModules();
      const result = await install(
        { ...this.parts, keyring: await loadKeyring(this.parts.config.keyring), events: this.fanout() },
        {
          op, source, booted, target: this.alternateOf(booted), installedVersion: await this.installedVersion(booted),
          activate: options.reboot || (options.activate ?? this.parts.config.install.activate),
          acceptIrreversible: options.acceptIrreversible ?? false,
          adaptive: options.adaptive ?? this.parts.config.install.adaptive,
          signal: options.signal,
        },
      );
      if (result.activated && (options.reboot || this.parts.config.install.rebootAfterInstall)) await this.doReboot();
      return result;
    });
  }

  activate(target: 'other' | SlotName, options: ActivateOptions = {}): Promise<ActivateResult> {
    return this.exclusive(`activate ${target}`, async () => {
      const booted = await this.booted();
      const slot = target === 'other' ? this.alternateOf(booted) : target;
      this.parts.slots.classes(slot); // ABU_ERR_SLOT_UNKNOWN for a name the config does not know
      if (slot === booted) return keepBooted(this.parts, booted);
      const s = await this.parts.state.load();
      const release = this.verifiedRelease(s.slots[slot], slot, 'activating it');
      const { checkFloor, checkIrreversibleAccepted } = await import('./policy/version-policy');
      checkFloor(release.version, s.floor);
      checkIrreversibleAccepted(release, s.floor, options.acceptIrreversible);
      const message = `slot ${slot} (${release.version}) will be tried on the next boot; slot ${booted} stays as the fallback`;
      await activateSlot(this.parts, slot, booted, release.version, message);
      return { slot, changed: true, message };
    });
  }

  markGood(slot?: SlotName): Promise<void> {
    return this.exclusive('mark-good', async () => {
      const booted = await this.booted();
      const target = slot ?? booted;
      this.parts.slots.classes(target); // ABU_ERR_SLOT_UNKNOWN for a name the config does not know
      // The running slot evidently boots; any other slot marked good becomes a fallback the bootloader may start,
      // so it must hold a verified release (an empty or half-written slot would be booted after a failure).
      if (target !== booted) this.verifiedRelease((await this.parts.state.load()).slots[target], target, 'marking it good');
      await confirmGood(this.parts, target);
    });
  }

  markBad(slot?: SlotName): Promise<void> {
    return this.exclusive('mark-bad', async () => {
      const target = slot ?? (await this.booted());
      await this.parts.boot.markBad(target);
      faultPoint('mark-bad.after-flags');
      await this.parts.state.update((st) => st.history.push(historyEntry('mark-bad', target, `slot ${target} marked bad by the operator`)));
    });
  }

  bootCheck(): Promise<BootCheckResult> {
    return this.exclusive('boot-check', async () => {
      const result = await bootConfirm({ ...this.parts, healthChecks: this.parts.config.healthChecks }, await this.booted());
      this.emitLog(result.outcome === 'confirmed' || result.outcome === 'already-good' ? 'info' : 'warn', result.message);
      if (result.outcome === 'marked-bad') await this.doReboot();
      return result;
    });
  }

  reboot(): Promise<void> {
    return this.exclusive('reboot', () => this.doReboot());
  }

  async close(): Promise<void> {
    this.sinks.clear();
  }

  /** The running operation's name, for status and 409 answers. */
  get runningOperation(): string | null {
    return this.operation;
  }

  /**
   * Runs one operation that may write a slot, the boot flags or the state: refused while this engine runs
   * another, and under the appliance lock so no other process (CLI, console, daemon) writes meanwhile.
   */
  private async exclusive<T>(name: string, fn: (op: string) => Promise<T>): Promise<T> {
    if (this.operation) throw new AbuError('ABU_ERR_BUSY', `busy: "${this.operation}" is running`, { details: { running: this.operation, pid: process.pid } });
    this.operation = name;
    const op = randomUUID();
    const started = new Date().toISOString();
    try {
      const release = await this.parts.lock.acquire(name);
      try {
        await this.recordInterrupted(release.interrupted);
        const result = await fn(op);
        await this.recordSuccess(started);
        return result;
      } catch (e) {
        await this.recordFailure(op, name, e);
        throw e;
      } finally {
        await release();
      }
    } finally {
      this.operation = null;
    }
  }

  /**
   * At daemon start: records an operation a killed process left unfinished, before anyone asks for status or
   * history. Another writer running now will record it itself (it holds the lock), so busy is not an error.
   */
  async reconcile(): Promise<void> {
    if (this.operation) return;
    const release = await this.parts.lock.acquire('start-up check').catch((e: unknown) => {
      if (isAbuError(e, 'ABU_ERR_BUSY')) return null;
      throw e;
    });
    if (!release) return;
    try {
      await this.recordInterrupted(release.interrupted);
    } finally {
      await release();
    }
  }

  /**
   * A process killed mid-operation (power cut of the daemon, SIGKILL) never recorded how it ended: say it was
   * interrupted, not that it failed or succeeded. Its time is when it began, so a later success makes it past.
   */
  private async recordInterrupted(h: LockHolder | null): Promise<void> {
    if (!h) return;
    const message = `"${h.operation}" by ${h.owner} (pid ${h.pid}, since ${h.since}) was interrupted: the process ended before the operation finished`;
    await this.parts.state.update((st) => {
      st.history.push(historyEntry('interrupted', '-', message, { code: 'ABU_ERR_INTERRUPTED' }));
      st.lastError = { code: 'ABU_ERR_INTERRUPTED', message, time: h.since };
    });
    this.emitLog('warn', message, 'ABU_ERR_INTERRUPTED');
  }

  /** A later success turns the last error into a past one (the page stops showing it as a current fault). */
  private async recordSuccess(started: string): Promise<void> {
    const s = await this.parts.state.load().catch(() => null);
    // An error this very operation recorded (a rollback found by boot-check) stays current.
    if (!s?.lastError || s.lastError.past || s.lastError.time >= started) return;
    await this.parts.state.update((st) => st.lastError && (st.lastError.past = true)).catch(() => undefined);
  }

  private async recordFailure(op: string, name: string, e: unknown): Promise<void> {
    const code = isAbuError(e) ? e.code : 'ABU_ERR_INTERNAL';
    const message = e instanceof Error ? e.message : String(e);
    this.emitLog('error', `${name}: ${message}`, code, op);
    if (isAbuError(e, 'ABU_ERR_CANCELLED') || (e instanceof Error && e.name === 'AbortError')) this.emitProgress(op, 'cancelled');
    else this.emitProgress(op, 'failed');
    await this.parts.state
      .update((st) => {
        st.lastError = { code, message, time: new Date().toISOString() };
        if (name.startsWith('install')) st.history.push(historyEntry('install-failed', '-', message, { code }));
      })
      .catch(() => undefined); // the original error matters more than a failed record of it
  }

  private async doReboot(): Promise<void> {
    this.emitLog('info', 'restarting the appliance');
    // Loaded when a restart happens, not with every engine (it brings node:child_process).
    const { restart } = await import('./reboot');
    await restart(this.parts);
  }

  private async booted(): Promise<SlotName> {
    return bootedSlot(this.parts.config);
  }

  private alternateOf(booted: SlotName): SlotName {
    return this.parts.config.slots.find((s) => s.name !== booted)!.name;
  }

  private async installedVersion(booted: SlotName): Promise<string | null> {
    const recorded = (await this.parts.state.load()).slots[booted]?.version;
    if (recorded) return recorded;
    const f = this.parts.config.factoryVersion;
    if (!f) return null;
    if ('versionFile' in f) return (await fs.readFile(f.versionFile, 'utf8').catch(() => '')).trim() || null;
    return f.slot === booted ? f.version : null;
  }

  /** The factory image named by config ({ slot, version }) counts as a verified release of that slot. */
  /** The slot's verified release (recorded, or the configured factory one), else ABU_ERR_NOT_INSTALLED. */
  private verifiedRelease(recorded: SlotRecord | null | undefined, slot: SlotName, doing: string): SlotRecord {
    const release = recorded ?? this.factoryRelease(slot);
    if (!release?.verified) throw new AbuError('ABU_ERR_NOT_INSTALLED', `slot ${slot} holds no verified release; install one before ${doing}`, { details: { slot } });
    return release;
  }

  private factoryRelease(slot: SlotName): SlotRecord | null {
    const f = this.parts.config.factoryVersion;
    if (!f || !('slot' in f) || f.slot !== slot) return null;
    return { version: f.version, description: `factory image ${f.version}`, irreversible: false, installedAt: '', manifestSha256: '', verified: true };
  }

  private fanout(): EventSink {
    return { progress: (e) => this.emit((s) => s.progress(e)), log: (e) => this.emit((s) => s.log(e)) };
  }

  private emit(fn: (s: EventSink) => void): void {
    for (const s of this.sinks) {
      try {
        fn(s);
      } catch {
        /* a broken subscriber must not break an install */
      }
    }
  }

  private emitLog(level: LogEvent['level'], message: string, code?: string, op?: string): void {
    this.emit((s) => s.log({ schema: PROGRESS_SCHEMA, op, level, message, code, time: new Date().toISOString() }));
  }

  private emitProgress(op: string, phase: ProgressEvent['phase']): void {
    this.emit((s) => s.progress({ schema: PROGRESS_SCHEMA, op, phase, bytesDone: 0, bytesTotal: 0, rate: 0, time: new Date().toISOString() }));
  }
}

/**
 * The install pipeline, the bundle reader (protobufjs) and the version policy (semver) load with the first
 * install, not with every engine: `abu status` and the other quick commands start without them.
 */
async function installModules(): Promise<{ install: typeof import('./install/installer').install; loadKeyring: typeof import('./bundle/bundle-reader').loadKeyring }> {
  const [{ install }, { loadKeyring }] = await Promise.all([import('./install/installer'), import('./bundle/bundle-reader')]);
  return { install, loadKeyring };
}
