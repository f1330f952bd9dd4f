/** Periodic housekeeping: events past retention and expired sessions are deleted. */
import type { Deps } from './deps.ts';

export async function runUpkeep(deps: Deps, eventRetentionMs: number): Promise<{ events: number; sessions: number }> {
  const now = deps.clock.now().getTime();
  return deps.store.transaction(async (tx) => ({
    events: await tx.events.deleteOlderThan(new Date(now - eventRetentionMs).toISOString()),
    sessions: await tx.sessions.deleteExpired(new Date(now).toISOString()),
  }));
}
