// Named fault points: the process kills itself (SIGKILL) at the point $ABU_FAULT names, so tests can stop abu in every named state.
import { writeSync } from 'node:fs';

/**
 * Every point, with the state the process leaves behind when it dies there. The kill-point campaign
 * (test/integration/faults/) enumerates this map and fails for a point it never saw kill a process.
 */
export const FAULT_POINTS = {
  'install.after-open': 'install: every target opened, no flag changed, nothing written',
  'install.after-mark-bad': 'install: target marked bad and recorded incomplete, nothing written',
  'install.after-chunk': 'install: chunk N written (ABU_FAULT_COUNT=N), the rest of the image not',
  'install.after-last-write': 'install: every chunk written, not yet fdatasync-ed',
  'install.after-sync': 'install: image synced, read-back not started',
  'install.during-read-back': 'install: read-back under way (after buffer N, ABU_FAULT_COUNT=N)',
  'install.after-record': 'install: release recorded verified, not yet activated',
  'activate.before-flag-flip': 'activation: intent recorded (flagsWritten false), boot flags unchanged',
  'activate.after-flag-flip': 'activation: boot flags say try the slot, the record still says flagsWritten false',
  'boot-check.after-health-checks': 'boot-check: health checks passed, nothing confirmed yet',
  'boot-check.rollback-after-flags': 'boot-check: rollback found, flags corrected, not yet recorded',
  'mark-good.after-flags': 'mark-good: the slot is good in the boot flags, not yet in the record',
  'mark-bad.after-flags': 'mark-bad: the slot is bad in the boot flags, not yet in history',
  'queue.after-marker': 'queue apply: the package is marked as applying, its install not started',
  'queue.before-reboot': 'queue apply: the package installed and activated, the restart not started',
  'queue.between-bundles': 'queue apply: restarted into the package, the next package not started',
  'serial.after-block': 'serial upload: console accepted block N (ABU_FAULT_COUNT=N) of a bundle',
  'replication.send-mid-transfer': 'site: the source sent piece N (ABU_FAULT_COUNT=N) of a replica to a member pulling it',
  'replication.receive-mid-transfer': 'site: the member took piece N (ABU_FAULT_COUNT=N) of a replica',
  'replication.after-verify': 'site: the member verified its complete replica, not yet made it the replica',
  'rollout.after-journal': 'site: the rollout journaled, no member asked for anything',
  'rollout.before-reboot-request': 'site: a member journaled as rebooting (ABU_FAULT_COUNT=N: the Nth), not yet asked',
  'rollout.after-reboot-request': 'site: a member asked to reboot (ABU_FAULT_COUNT=N: the Nth), not yet back',
} as const;

export type FaultPointName = keyof typeof FAULT_POINTS;

/** Read once: an unset variable costs every point one comparison. */
const armed: string | undefined = process.env.ABU_FAULT || undefined;
const killAt = Math.max(1, Number(process.env.ABU_FAULT_COUNT ?? '1') || 1);
let hits = 0;

if (armed !== undefined && !(armed in FAULT_POINTS)) {
  // A misspelled point would never fire and a campaign would pass without testing anything: say so at once.
  writeSync(2, `abu: ABU_FAULT=${armed} names no fault point (see engine/core/fault-point.ts)\n`);
}

/** Kills this process with SIGKILL when $ABU_FAULT names `name` and this is its $ABU_FAULT_COUNT-th hit (default 1st). */
export function faultPoint(name: FaultPointName): void {
  if (armed === undefined) return;
  if (name !== armed || ++hits < killAt) return;
  // Synchronous, so the line is out before the kill; the test reads it to know which point ended the process.
  writeSync(2, `abu: fault point ${name} (hit ${hits}): killing pid ${process.pid}\n`);
  process.kill(process.pid, 'SIGKILL');
}
