// The warnings an operator must see before applying: irreversible releases and the version floor.
import semverLt = require('semver/functions/lt');
import semverValid = require('semver/functions/valid');
import type { ApplianceStatus } from '../facade';

export interface QueuedRelease {
  version: string;
  irreversible: boolean;
}

/** Plain sentences for the page, the API and `abu status`; empty when nothing needs a second thought. */
export function applyWarnings(status: ApplianceStatus, queued: QueuedRelease[] = []): string[] {
  const out: string[] = [];
  const alternate = status.slots.find((s) => s.name === status.alternate);
  const booted = status.slots.find((s) => s.booted);
  if (alternate?.version && alternate.irreversible) {
    out.push(`The alternate image ${alternate.version} is an irreversible release: once it has booted and been confirmed, versions below ${alternate.version} can never be installed or activated again.`);
  }
  for (const q of queued.filter((x) => x.irreversible)) {
    out.push(`Queued package ${q.version} is an irreversible release: after it is applied there is no way back below ${q.version}.`);
  }
  if (status.floor) {
    out.push(`This appliance has installed the irreversible release ${status.floor}: nothing older than ${status.floor} can be installed or activated.`);
  }
  if (alternate?.version && booted?.version && status.floor && alternate.version !== booted.version && isBelow(alternate.version, status.floor)) {
    out.push(`The alternate image ${alternate.version} is below the floor ${status.floor} and cannot be activated.`);
  }
  return out;
}

function isBelow(a: string, b: string): boolean {
  return semverValid(a) !== null && semverValid(b) !== null && semverLt(a, b);
}

/**
 * Whether the page should offer "Activate alternate image": what the engine's activate accepts, a verified
 * release (or the factory image) not below the floor. The boot state is no guide: an image installed without
 * activating, or whose activation was undone ("Keep current image"), is marked not bootable until activated.
 */
export function alternateActivatable(status: ApplianceStatus): boolean {
  const alternate = status.slots.find((s) => s.name === status.alternate);
  // A version means a verified record or the configured factory image ('unknown' to abu, accepted by activate).
  if (!alternate?.version || alternate.image === 'incomplete' || alternate.image === 'empty') return false;
  return !(status.floor && isBelow(alternate.version, status.floor));
}
