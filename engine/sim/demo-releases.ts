// The simulated appliance's demo releases: what each bundle is, what it is for, and where it lies; one list for
// creating them and for telling the user about them (`abu sim create`, `abu serve --sim`).
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export interface DemoRelease {
  version: string;
  /** The exact predecessor the bundle requires (strict chain). */
  from: string;
  description: string;
  irreversible?: boolean;
  /** Image without the demo magic: it boots, fails its health check, and the appliance falls back. */
  broken?: boolean;
  /** What the user does with it, shown next to its path. */
  purpose: string;
}

/** In the order a user meets them: the good chain first, then the rollback demo. */
export const DEMO_RELEASES: readonly DemoRelease[] = [
  {
    version: '1.1.0',
    from: '1.0.0',
    description: 'Demo release 1.1.0: faster boot',
    purpose: 'install first (it follows the factory 1.0.0); restart, and boot-check confirms it',
  },
  {
    version: '1.2.0',
    from: '1.1.0',
    description: 'Demo release 1.2.0: new database schema (irreversible)',
    irreversible: true,
    purpose: 'after 1.1.0 runs; irreversible: activating it needs your confirmation, and once it is confirmed nothing older may be installed or switched back to',
  },
  {
    version: '1.1.0',
    from: '1.0.0',
    description: 'Demo 1.1.0 whose health check fails',
    broken: true,
    purpose: 'broken, instead of 1.1.0: it boots, fails its health check, and the appliance falls back to 1.0.0 (rollback)',
  },
];

/** A demo bundle on disk with its purpose. */
export interface SimBundle {
  path: string;
  version: string;
  broken: boolean;
  purpose: string;
}

export function demoBundlePath(dir: string, product: string, r: DemoRelease): string {
  return path.join(dir, 'bundles', `${product}-${r.version}${r.broken ? '-broken' : ''}.abu`);
}

/** The demo bundles present in a simulated appliance folder, in DEMO_RELEASES order. */
export function simBundles(dir: string, product: string): SimBundle[] {
  return DEMO_RELEASES.map((r) => ({ path: demoBundlePath(dir, product, r), version: r.version, broken: r.broken === true, purpose: r.purpose }))
    .filter((b) => existsSync(b.path));
}

/** Human lines: each bundle's version and path, then what it is for. */
export function describeSimBundles(bundles: SimBundle[], indent = '  '): string[] {
  const label = (b: SimBundle) => `${b.version}${b.broken ? ' broken' : ''}`;
  const width = Math.max(0, ...bundles.map((b) => label(b).length)) + 2;
  return bundles.flatMap((b) => [`${indent}${label(b).padEnd(width)}${b.path}`, `${indent}${' '.repeat(width)}${b.purpose}`]);
}
