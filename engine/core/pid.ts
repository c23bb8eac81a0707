// Process liveness by PID (signal 0), for records other processes leave behind (lock holder, daemon runtime file).

/** True when a process with this PID exists (EPERM: it exists but belongs to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
