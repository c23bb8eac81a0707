// The seam between system tests and the abu inside the guest: HTTP (abu serve) or, before the service exists, the serial console.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { ApplianceStatus, HistoryEntry, InstallResult } from '../../engine/facade';
import type { Appliance } from './appliance';
import { bundleDisk } from './bundles';
import { ConsoleGuestAbu } from './console-guest-abu';
import { HttpGuestAbu } from './http-guest-abu';

/** A transport-neutral answer: HTTP status (200 ok, 4xx refused) or the CLI's exit status mapped to 200/400. */
export interface GuestAnswer {
  status: number;
  body: any;
}

export interface GuestAbu {
  readonly via: 'http' | 'console';
  /** Disks to attach at boot for this transport (bundles pushed without networking). */
  readonly disks: string[];
  /** Waits until abu answers after a boot. */
  ready(): Promise<ApplianceStatus>;
  status(): Promise<ApplianceStatus>;
  history(): Promise<HistoryEntry[]>;
  /** Installs into the alternate slot; `activate: false` writes and verifies only; an irreversible one activates only when accepted. */
  install(bundle: string, options?: GuestInstallOptions): Promise<GuestAnswer>;
  activate(target: string): Promise<GuestAnswer>;
  reboot(): Promise<void>;
}

export interface GuestInstallOptions {
  activate?: boolean;
  acceptIrreversible?: boolean;
  /** false: write every chunk (HTTP `adaptive=false`; the console has no such word, its installs stay adaptive). */
  adaptive?: boolean;
}

let hasServe: boolean | null = null;

/** Whether this build's abu has `abu serve` (the image carries the same build: its cache key hashes dist/). */
export function abuHasServe(): boolean {
  if (hasServe === null) {
    const help = execFileSync(process.execPath, [path.resolve(__dirname, '..', '..', '..', 'bin', 'abu'), 'help'], { encoding: 'utf8' });
    hasServe = /^ {2}serve\s/m.test(help);
  }
  return hasServe;
}

/**
 * HTTP when the guest runs abu serve; otherwise (or with ABU_SYSTEM_VIA=console) the console, with `bundles`
 * on extra disks.
 */
export function guestAbu(app: Appliance, bundles: string[] = []): GuestAbu {
  const http = abuHasServe() && process.env.ABU_SYSTEM_VIA !== 'console';
  return http ? new HttpGuestAbu(app) : new ConsoleGuestAbu(app, bundles, bundles.map(bundleDisk));
}

/** The install's result, or a failure naming what abu answered. */
export function installed(answer: GuestAnswer): InstallResult {
  if (answer.status !== 200) throw new Error(`install refused: ${JSON.stringify(answer.body)}`);
  return answer.body as InstallResult;
}
