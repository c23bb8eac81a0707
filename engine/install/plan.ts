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
  refuseSharedTargets(manifest);
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

/** Two images for one slot class would overwrite each other in the same target. */
function refuseSharedTargets(manifest: Manifest): void {
  const seen = new Map<string, string>();
  for (const image of manifest.images) {
    const other = seen.get(image.slotClass);
    if (other) throw new AbuError('ABU_ERR_MANIFEST_INVALID', `images "${other}" and "${image.name}" both target slot class "${image.slotClass}"`);
    seen.set(image.slotClass, image.name);
  }
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
