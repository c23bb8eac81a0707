// Typed facade over flock(2): an exclusive, non-waiting lock on an open file descriptor.
import { binding } from './binding';
import { fromNative } from './errors';

/**
 * Try to take flock(LOCK_EX | LOCK_NB) on `fd`. True when taken; false when another open file description
 * (another process, or another open() in this one) holds it. The kernel drops the lock when the descriptor
 * closes or the process dies, so a killed writer never leaves the appliance locked.
 */
export function flockExclusive(fd: number): boolean {
  try {
    return binding().flockExclusive(fd) as boolean;
  } catch (e) {
    throw fromNative(e);
  }
}
