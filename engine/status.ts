// Assembles the appliance status from the boot flags (truth about boots) and abu's records (versions, history).
import type { EngineParts } from './engine';
import type { ApplianceStatus, LockHolder, ResumableView, SlotView } from './facade';
import { CheckpointFile } from './install/checkpoint';
import type { SlotBootStatus, SlotName } from './core/slot';
import type { PersistedState, SlotRecord } from './state/state-store';

export async function buildStatus(parts: EngineParts, booted: SlotName, operation: string | null, lock: LockHolder | null): Promise<ApplianceStatus> {
  const [flags, s] = await Promise.all([parts.boot.status(), parts.state.load()]);
  const slots: SlotView[] = parts.config.slots.map((cfg) => {
    const f = flags.find((x) => x.slot === cfg.name);
    const rec = s.slots[cfg.name] ?? null;
    return {
      name: cfg.name,
      device: Object.values(cfg.targets).map((t) => (t.partition ? `${t.device}#${t.partition}` : t.device)).join(', '),
      // An unfinished install overwrote whatever was there, the factory image too.
      version: rec ? (rec.verified ? rec.version : null) : factoryVersion(parts, cfg.name),
      description: rec?.verified ? rec.description : null,
      irreversible: rec?.irreversible ?? false,
      state: f?.state ?? 'bad',
      triesLeft: f?.triesLeft ?? 0,
      booted: cfg.name === booted,
      primary: f?.primary ?? false,
      image: imageOf(rec, f, cfg.name === booted || factoryVersion(parts, cfg.name) !== null),
    };
  });
  return {
    product: parts.config.product,
    booted,
    alternate: parts.config.slots.find((x) => x.name !== booted)!.name,
    slots,
    floor: s.floor,
    operation,
    lock,
    pending: pendingOf(s),
    lastError: s.lastError,
    resumable: await resumableOf(parts),
  };
}

/** The checkpoint of an interrupted install, summed over its images (unreadable or absent: null). */
async function resumableOf(parts: EngineParts): Promise<ResumableView | null> {
  const cp = await new CheckpointFile(parts.config.stateDir).load();
  if (!cp) return null;
  const chunksDone = cp.images.reduce((n, i) => n + i.done.reduce((m, [a, b]) => m + b - a, 0), 0);
  return { slot: cp.slot, version: cp.version, chunksDone, chunks: cp.images.reduce((n, i) => n + i.chunks, 0), savedAt: cp.savedAt };
}

function imageOf(rec: SlotRecord | null, f: SlotBootStatus | undefined, knownRunning: boolean): SlotView['image'] {
  if (rec) return rec.verified ? 'verified' : 'incomplete';
  if (knownRunning) return 'unknown';
  // Never recorded and not bootable: nothing abu knows of was ever written there.
  return !f || f.state === 'bad' ? 'empty' : 'unknown';
}

function factoryVersion(parts: EngineParts, slot: SlotName): string | null {
  const f = parts.config.factoryVersion;
  return f && 'slot' in f && f.slot === slot ? f.version : null;
}

/** Only an activation the bootloader can already see is pending (flagsWritten false means it never reached it). */
function pendingOf(s: PersistedState): ApplianceStatus['pending'] {
  if (!s.pending || s.pending.flagsWritten === false) return null;
  return { slot: s.pending.slot, version: s.pending.version, time: s.pending.time };
}
