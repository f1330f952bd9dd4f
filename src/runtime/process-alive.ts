/**
 * Whether a process id is running, for the embedded store's lock file. Node answers through
 * `process.kill(pid, 0)`: ESRCH is dead; success or EPERM (another user's process) is alive.
 * Deno refuses that call without `--allow-run` (`NotCapable`, not ESRCH), and its /proc needs
 * --allow-all: the runtime cannot tell, which must not read as "dead" (two servers would write
 * one database), so the caller falls back on something else (the lock's heartbeat).
 */
import process from 'node:process';

export type Liveness = 'alive' | 'dead' | 'unknown';

export function processLiveness(pid: number): Liveness {
  try {
    process.kill(pid, 0);
    return 'alive';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ESRCH') return 'dead';
    if (code === 'EPERM') return 'alive';
    return 'unknown';
  }
}
