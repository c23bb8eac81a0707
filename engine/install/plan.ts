// Builds the install plan (pure): which slot, which image goes where, and every refusal before any write.
import { AbuError } from '../core/errors';
import type { SlotName } from '../core/slot';
import type { ImageEntry, Manifest } from '../bundle/bundle-reader';
import { checkInstallPolicy, type PolicyInput } from '../policy/version-policy';
import type { SlotTarget } from '../slots/slot-store';

export interface PlannedImage {
  entry: ImageEntry;
  target: SlotTarget;
}

export interface InstallPlan {
  version: string;
  description: string;
  irreversible: boolean;
  booted: SlotName;
  targetSlot: SlotName;
  images: PlannedImage[];
  totalBytes: number;
}

export interface PlanContext {
  booted: SlotName;
  /** The slot the install goes to: never the booted one. */
  targetSlot: SlotName;
  /** Resolved targets of the target slot, by slot class. */
  targets: Record<string, SlotTarget>;
  policy: PolicyInput;
}

export function buildInstallPlan(manifest: Manifest, ctx: PlanContext): InstallPlan {
  if (ctx.targetSlot === ctx.booted) {
    throw new AbuError('ABU_ERR_TARGET_IS_ACTIVE', `refusing to install into the booted slot ${ctx.booted}`);
  }
  checkInstallPolicy(manifest, ctx.policy);
  const images = manifest.images.map((entry) => ({ entry, target: targetFor(entry, ctx) }));
  return {
    version: manifest.version,
    description: manifest.description,
    irreversible: manifest.irreversible,
    booted: ctx.booted,
    targetSlot: ctx.targetSlot,
    images,
    totalBytes: images.reduce((n, i) => n + i.entry.size, 0),
  };
}

function targetFor(entry: ImageEntry, ctx: PlanContext): SlotTarget {
  const target = ctx.targets[entry.slotClass];
  if (!target) {
    throw new AbuError('ABU_ERR_NO_SLOT_CLASS', `image "${entry.name}" targets slot class "${entry.slotClass}", which slot ${ctx.targetSlot} does not have (has: ${Object.keys(ctx.targets).join(', ')})`);
  }
  if (entry.size > target.size) {
    throw new AbuError('ABU_ERR_IMAGE_TOO_LARGE', `image "${entry.name}" is ${entry.size} bytes but slot ${ctx.targetSlot} (${target.device}) holds ${target.size}`, {
      details: { image: entry.name, imageSize: entry.size, slotSize: target.size },
    });
  }
  return target;
}
