// Assembles the appliance status from the boot flags (truth about boots) and abu's records (versions, history).
import type { EngineParts } from './engine';
import type { ApplianceStatus, SlotView } from './facade';
import type { SlotName } from './core/slot';

export async function buildStatus(parts: EngineParts, booted: SlotName, operation: string | null): Promise<ApplianceStatus> {
  const [flags, s] = await Promise.all([parts.boot.status(), parts.state.load()]);
  const slots: SlotView[] = parts.config.slots.map((cfg) => {
    const f = flags.find((x) => x.slot === cfg.name);
    const rec = s.slots[cfg.name] ?? null;
    return {
      name: cfg.name,
      device: Object.values(cfg.targets).map((t) => (t.partition ? `${t.device}#${t.partition}` : t.device)).join(', '),
      version: rec?.version ?? null,
      description: rec?.description ?? null,
      irreversible: rec?.irreversible ?? false,
      state: f?.state ?? 'bad',
      triesLeft: f?.triesLeft ?? 0,
      booted: cfg.name === booted,
      primary: f?.primary ?? false,
    };
  });
  return {
    product: parts.config.product,
    booted,
    alternate: parts.config.slots.find((x) => x.name !== booted)!.name,
    slots,
    floor: s.floor,
    operation,
    lastError: s.lastError,
  };
}
