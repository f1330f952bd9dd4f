/**
 * One log line and one metrics observation per request: method, route pattern, status,
 * latency, request id, project and acting key's uid — never a token, body or key material.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { AppEnv } from './env.ts';

/** The pattern of the handler that answered ("unmatched" for 404s of unknown paths). */
export function routePattern(c: Context): string {
  const handlers = matchedRoutes(c).filter((route) => route.method !== 'ALL');
  return handlers.at(-1)?.path ?? 'unmatched';
}

export function observe(logger: Logger, metrics?: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    const route = routePattern(c);
    const status = c.res.status;
    metrics?.observeRequest(c.req.method, route, status, ms / 1000);
    const caller = c.get('caller');
    logger[status >= 500 ? 'error' : 'info']('request', {
      method: c.req.method,
      route,
      status,
      ms: Math.round(ms * 100) / 100,
      requestId: c.get('requestId'),
      project: caller?.projectId,
      actor: caller?.principal.actor,
    });
  };
}
