/**
 * The operator's overview of one instance: version, uptime, storage, traffic per minute, push
 * connections, store figures and the caller's own rate-limit use. Reads what `/metrics` exposes
 * (same action, `metrics.read`), shaped for a person rather than a scraper.
 */
import type { Metrics } from '../metrics/metrics.ts';
import type { Deps } from './deps.ts';
import { storeFigures } from './figures.ts';
import type { Caller } from './principal.ts';

export interface StatusSources {
  version: string;
  startedAt: Date;
  metrics?: Metrics;
  rateLimits: { keys: number; bundle: number };
}

const minuteMs = 60_000;

/** Bytes the embedded database holds on disk (snapshot + journal); null where the backend cannot tell. */
function storageBytes(stats: Record<string, number> | undefined): number | null {
  if (!stats || stats.snapshotBytes === undefined) return null;
  return stats.snapshotBytes + (stats.journalBytes ?? 0);
}

async function gaugeValue(metrics: Metrics | undefined): Promise<number | null> {
  if (!metrics) return null;
  return (await metrics.pushConnections.get()).values[0]?.value ?? 0;
}

export async function serverStatus(deps: Deps, caller: Caller, sources: StatusSources) {
  const now = deps.clock.now();
  const figures = await storeFigures(deps);
  const limited = caller.principal.kind !== 'master';
  const use = async (bucket: 'keys' | 'bundle', limit: number) => ({
    limit,
    used: limited && limit > 0 ? await deps.store.counters.peek(`rate:${bucket}:${caller.principal.actor}`, minuteMs, now.getTime()) : 0,
  });
  return {
    version: sources.version,
    startedAt: sources.startedAt.toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((now.getTime() - sources.startedAt.getTime()) / 1000)),
    storage: { backend: deps.store.kind, bytes: storageBytes(deps.store.stats?.()), ready: deps.store.isReady() },
    pushConnections: await gaugeValue(sources.metrics),
    traffic: sources.metrics?.requestHistory.recent(30, now.getTime()) ?? [],
    keySets: figures.keySetsByStatus,
    oneTimePreKeysStored: figures.oneTimePreKeysRemaining,
    limits: {
      preKeyLowThreshold: deps.settings.preKeyLowThreshold,
      maxStoredPreKeysPerKeySet: deps.settings.maxStoredPreKeys,
      drainLimitPerMinute: deps.settings.drainLimitPerMinute,
      signedPreKeyMaxAgeMs: deps.settings.signedPreKeyMaxAgeMs,
    },
    /** This minute's requests of the calling key against its rate limits (the master key is not limited). */
    rateLimitUse: { limited, keys: await use('keys', sources.rateLimits.keys), bundle: await use('bundle', sources.rateLimits.bundle) },
  };
}
