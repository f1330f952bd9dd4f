/**
 * Fixed-window rate limits per API key (SPEC §3). Every limited answer carries RateLimit-*
 * headers; a 429 adds Retry-After. The master key is not limited.
 */
import type { MiddlewareHandler } from 'hono';
import type { Clock } from '../domain/deps.ts';
import { AppError } from '../domain/errors.ts';
import type { Counters } from '../store/types.ts';
import type { AppEnv } from './env.ts';

export interface RateLimitBucket {
  name: string;
  limit: number;
  /** Counts one-time pre-keys consumed rather than requests: a claim for many devices counts once per key. */
  perPreKey?: boolean;
}

const windowMs = 60_000;

/** Each request counts against every bucket given; the headers describe the tightest one. */
export function rateLimit(counters: Counters, clock: Clock, buckets: RateLimitBucket[], onReject?: () => void): MiddlewareHandler<AppEnv> {
  const active = buckets.filter((bucket) => bucket.limit > 0);
  return async (c, next) => {
    const { principal } = c.get('caller');
    if (principal.kind === 'master' || active.length === 0) return next();
    const now = clock.now().getTime();
    let tightest: { limit: number; remaining: number; resetAt: number; exceeded: boolean } | undefined;
    for (const bucket of active) {
      const { count, resetAt } = await counters.hit(`rate:${bucket.name}:${principal.actor}`, windowMs, now);
      const state = { limit: bucket.limit, remaining: Math.max(0, bucket.limit - count), resetAt, exceeded: count > bucket.limit };
      if (!tightest || state.exceeded || (!tightest.exceeded && state.remaining < tightest.remaining)) tightest = state;
    }
    const resetSeconds = Math.max(1, Math.ceil((tightest!.resetAt - now) / 1000));
    c.header('RateLimit-Limit', String(tightest!.limit));
    c.header('RateLimit-Remaining', String(tightest!.remaining));
    c.header('RateLimit-Reset', String(resetSeconds));
    if (tightest!.exceeded) {
      onReject?.();
      c.header('Retry-After', String(resetSeconds));
      throw new AppError('RATE_LIMITED', `Rate limit of ${tightest!.limit} requests a minute exceeded; retry in ${resetSeconds}s`);
    }
    await next();
    // Charged after the fact (the count is known only then): the claim is served, the next call pays.
    const extra = c.get('extraPreKeysConsumed') ?? 0;
    if (extra <= 0) return;
    let remaining = tightest!.remaining;
    for (const bucket of active.filter((each) => each.perPreKey)) {
      const { count } = await counters.hit(`rate:${bucket.name}:${principal.actor}`, windowMs, now, extra);
      remaining = Math.min(remaining, Math.max(0, bucket.limit - count));
    }
    c.header('RateLimit-Remaining', String(remaining));
  };
}
