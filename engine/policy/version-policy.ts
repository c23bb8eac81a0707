// Version policy (pure): product match, predecessor chain, downgrade and the irreversible floor.
// Only the functions used: the package's index loads all of its ~45 modules (~15 ms of every install's start-up).
import semverCompare = require('semver/functions/compare');
import semverGt = require('semver/functions/gt');
import semverLt = require('semver/functions/lt');
import semverLte = require('semver/functions/lte');
import semverSatisfies = require('semver/functions/satisfies');
import semverValid = require('semver/functions/valid');
import { AbuError } from '../core/errors';

export interface PolicyInput {
  product: string;
  /** Version running now (booted slot), or null when unknown. */
  installed: string | null;
  floor: string | null;
  strictChain: boolean;
  allowDowngrade: boolean;
}

export interface BundleIdentity {
  product: string;
  version: string;
  source: { exact?: string; range?: string };
}

/** Throws the AbuError that names the first rule the bundle breaks; returns nothing when it may be installed. */
export function checkInstallPolicy(bundle: BundleIdentity, p: PolicyInput): void {
  if (bundle.product !== p.product) {
    throw new AbuError('ABU_ERR_INCOMPATIBLE', `bundle is for product "${bundle.product}", this appliance is "${p.product}"`, {
      details: { bundleProduct: bundle.product, applianceProduct: p.product },
    });
  }
  checkFloor(bundle.version, p.floor);
  checkSource(bundle, p);
  if (p.installed && !p.allowDowngrade && semverLte(bundle.version, p.installed)) {
    throw new AbuError('ABU_ERR_DOWNGRADE', `bundle ${bundle.version} is not newer than the installed ${p.installed}`, {
      details: { version: bundle.version, installed: p.installed },
    });
  }
}

/** Refuse anything below an irreversible release that was confirmed on this appliance. */
export function checkFloor(version: string, floor: string | null): void {
  if (floor && semverLt(version, floor)) {
    throw new AbuError('ABU_ERR_BELOW_FLOOR', `version ${version} is older than the irreversible release ${floor}; there is no way back below it`, {
      details: { version, floor },
    });
  }
}

function checkSource(bundle: BundleIdentity, p: PolicyInput): void {
  const { exact, range } = bundle.source;
  if (!exact && !range) {
    if (p.strictChain) {
      throw new AbuError('ABU_ERR_PREDECESSOR', `bundle ${bundle.version} names no predecessor, but this appliance accepts only its immediate successor`);
    }
    return;
  }
  if (!p.installed) {
    throw new AbuError('ABU_ERR_PREDECESSOR', `bundle ${bundle.version} requires ${exact ?? range} but the installed version is unknown`);
  }
  if (exact && exact !== p.installed) throw predecessorError(bundle.version, exact, p.installed);
  if (range && !semverSatisfies(p.installed, range)) {
    throw new AbuError('ABU_ERR_PREDECESSOR', `bundle ${bundle.version} installs only over ${range}; this appliance runs ${p.installed}`, {
      details: { version: bundle.version, range, installed: p.installed },
    });
  }
}

function predecessorError(version: string, predecessor: string, installed: string): AbuError {
  if (semverValid(predecessor) && semverGt(predecessor, installed)) {
    // The appliance is behind: name the versions it lacks so the operator knows what to apply first.
    return new AbuError(
      'ABU_ERR_MISSING_VERSIONS',
      `appliance runs ${installed} but bundle ${version} starts from ${predecessor}: install ${predecessor} (and any release between ${installed} and ${predecessor}) first`,
      { details: { version, installed, missing: [predecessor] } },
    );
  }
  return new AbuError('ABU_ERR_PREDECESSOR', `bundle ${version} starts from ${predecessor}, but this appliance runs ${installed}${alreadyThere(version, installed)}`, {
    details: { version, predecessor, installed },
  });
}

/** Installing the running release again (or an older one) is the usual cause of this refusal: say so. */
function alreadyThere(version: string, installed: string): string {
  if (version === installed) return `: ${version} is already installed and running (abu activate switches to the alternate image)`;
  if (semverValid(version) && semverValid(installed) && semverLt(version, installed)) return `, which is newer than ${version}`;
  return '';
}

/** Order bundles so each one's predecessor comes before it (for queues and chains). */
export function sortChain<T extends BundleIdentity>(bundles: T[]): T[] {
  return [...bundles].sort((a, b) => semverCompare(a.version, b.version));
}

/**
 * An irreversible release raises the floor once its slot is confirmed, so activating one is the operator's
 * explicit decision (product-docs/002). Already at or below the floor: nothing new is given up.
 */
export function checkIrreversibleAccepted(release: { version: string; irreversible: boolean }, floor: string | null, accepted: boolean | undefined): void {
  if (!release.irreversible || accepted) return;
  if (floor && !semverGt(release.version, floor)) return;
  throw new AbuError(
    'ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED',
    `${release.version} is an irreversible release: once it boots and is confirmed, no version older than ${release.version} can be installed or activated again. ` +
      'Confirm with --accept-irreversible (CLI) or "acceptIrreversible": true (HTTP API), or install it without activating',
    { details: { version: release.version } },
  );
}
