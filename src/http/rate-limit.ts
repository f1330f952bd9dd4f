/**
 * Fixed-window rate limits per API key (SPEC §3). Every limited answer carries RateLimit-*
 * headers; a 429 adds Retry-After. The master key is not limited. Each route declares the class
 * it counts against (`rateLimit` in defineRoute, openapi.ts); the app factory builds the limiters.
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

/**
 * `keys`: the /v1/keys and /v2/keys calls (and anchors), 200 a minute by default; `bundle`: the
 * routes that consume one-time pre-keys, 100 a minute, counted per pre-key, and in `keys` too;
 * `none`: not rate limited (public routes, key management, operations, push).
 */
export type RateLimitClass = 'keys' | 'bundle' | 'none';

export type RateLimiters = Record<Exclude<RateLimitClass, 'none'>, MiddlewareHandler<AppEnv>>;

const windowMs = 60_000;

/** One limiter per class, for limits per minute of `keys` and `bundle` (0: unlimited). */
export function rateLimiters(counters: Counters, clock: Clock, limits: { keys: number; bundle: number }, onReject?: () => void): RateLimiters {
  const keysBucket = { name: 'keys', limit: limits.keys };
  const bundleBucket = { name: 'bundle', limit: limits.bundle, perPreKey: true };
  return {
    keys: rateLimit(counters, clock, [keysBucket], onReject),
    bundle: rateLimit(counters, clock, [keysBucket, bundleBucket], onReject),
  };
}

/** Each request counts against every bucket given; the headers describe the tightest one. */
export function rateLimit(counters: Counters, clock: Clock, buckets: RateLimitBucket[], onReject?: () => void): MiddlewareHandler<AppEnv> {
  const active = buckets.filter((bucket) => bucket.limit > 0);
  return async (c, next) => {
    // Limits are per API key: an anonymous call (a public route) has none to count against.
    const principal = c.get('caller')?.principal;
    if (!principal || principal.kind === 'master' || active.length === 0) return next();
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
