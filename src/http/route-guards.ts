/**
 * What every route declared with `defineRoute` (openapi.ts) runs before its own ACL check and
 * validation, in this order: the rate limit it declares, the JSON media type check, the body read
 * within the size limit and the process's body budget. So only an authenticated caller within
 * its rate limit makes the server hold a body. The limiters and the body reader hold the app's
 * state (counters, budget): the app factory builds them once and puts them on every request's
 * context; a route names its limiter by class.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';
import type { RateLimitClass, RateLimiters } from './rate-limit.ts';
import { requireJsonBody } from './request-body.ts';

export interface RouteGuards {
  rateLimits: RateLimiters;
  readBody: MiddlewareHandler<AppEnv>;
}

/** Outermost in the app: makes the app's guards reachable from the routes' middleware. */
export const provideRouteGuards =
  (guards: RouteGuards): MiddlewareHandler<AppEnv> =>
  (c, next) => {
    c.set('routeGuards', guards);
    return next();
  };

const rateLimitedAs =
  (limitClass: keyof RateLimiters): MiddlewareHandler<AppEnv> =>
  (c, next) =>
    c.get('routeGuards').rateLimits[limitClass](c, next);
const readBody: MiddlewareHandler<AppEnv> = (c, next) => c.get('routeGuards').readBody(c, next);

const guardsOf: Record<RateLimitClass, MiddlewareHandler<AppEnv>[]> = {
  keys: [rateLimitedAs('keys'), requireJsonBody, readBody],
  bundle: [rateLimitedAs('bundle'), requireJsonBody, readBody],
  none: [requireJsonBody, readBody],
};

/** The middleware a route of rate limit class `limitClass` runs first. */
export const routeGuards = (limitClass: RateLimitClass): MiddlewareHandler<AppEnv>[] => guardsOf[limitClass];
