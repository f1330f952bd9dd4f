/**
 * Whether a process id is running, for the embedded store's lock file. Node answers through
 * `process.kill(pid, 0)`. Deno refuses that call without `--allow-run` (`NotCapable`, not ESRCH),
 * which must not read as "dead": the lock would be taken over and two servers would write one
 * database. So only ESRCH means dead; when the runtime cannot tell, the owner counts as alive
 * and a lock is never stolen on a guess. (Deno's /proc needs --allow-all, so it is no way out.)
 */
import process from 'node:process';

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code !== 'ESRCH';
  }
}
