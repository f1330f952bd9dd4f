/**
 * Routes are declared with `@hono/zod-openapi`: the zod schemas that validate a request are
 * the ones that document it in `/openapi.json`. `defineRoute` adds the ACL action a route
 * needs and the rate limit it counts against, as middleware and as the `x-prekeyd-action` and
 * `x-prekeyd-rate-limit` extensions (tests read them to try every route).
 */
import { createRoute, OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Action } from '../domain/principal.ts';
import { requireAction } from '../domain/principal.ts';
import type { AppEnv } from './env.ts';
import { validationError } from './errors.ts';
import type { RateLimitClass } from './rate-limit.ts';
import { routeGuards } from './route-guards.ts';

export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    // Thrown, not answered here: the app's onError answers it and records the refusal.
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error);
    },
  });
}

export const requires =
  (action: Action): MiddlewareHandler<AppEnv> =>
  async (c, next) => {
    requireAction(c.get('caller').principal, action);
    await next();
  };

export const errorSchema = z
  .object({
    success: z.literal(false),
    error: z.string(),
    errorCode: z.string(),
    details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Error');

const errorDescriptions: Record<number, string> = {
  400: 'Invalid request (VALIDATION_ERROR, INVALID_SIGNATURE, CHECKSUM_MISMATCH, IMMUTABLE_FIELD)',
  401: 'Missing, unknown, expired or revoked key (UNAUTHORIZED)',
  403: 'The key lacks the action or may not act as this user (FORBIDDEN, KEYS_SUSPENDED), or a quota is reached (QUOTA_EXCEEDED)',
  404: 'Not found (NOT_FOUND)',
  409: 'Conflict with the stored state (CONFLICT)',
  410: 'Keys revoked or expired (KEYS_REVOKED, KEYS_EXPIRED)',
  413: 'Body too large (PAYLOAD_TOO_LARGE)',
  422: 'Invalid signature (Signal API)',
  429: 'Rate limited (RATE_LIMITED)',
  503: 'Storage unavailable (UNAVAILABLE)',
};

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    [401, 429, 503, ...statuses].map((status) => [
      status,
      { description: errorDescriptions[status] ?? 'Error', content: { 'application/json': { schema: errorSchema } } },
    ]),
  );

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  description,
  content: { 'application/json': { schema } },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

type DefinedRoute<R extends RouteConfig> = R & { 'x-prekeyd-action': Action; 'x-prekeyd-rate-limit': RateLimitClass };

/**
 * A route, with the ACL action it needs (null: none) and, in `rateLimit`, the rate limit class it
 * counts against: both enforced by its own middleware and shown in /openapi.json. A route with
 * `action: null` is public unless it names its `security` (GET /v1/whoami: any valid key).
 */
export function defineRoute<R extends Omit<RouteConfig, 'middleware'> & { rateLimit: RateLimitClass }>(action: Action | null, route: R) {
  const { rateLimit, ...rest } = route;
  const config = {
    ...rest,
    security: action === null ? (rest.security ?? []) : [{ bearerAuth: [] }],
    'x-prekeyd-rate-limit': rateLimit,
    ...(action !== null && { 'x-prekeyd-action': action }),
    middleware: [...routeGuards(rateLimit), ...(action === null ? [] : [requires(action)])],
  };
  return createRoute(config as unknown as R & { middleware: MiddlewareHandler<AppEnv>[] }) as unknown as DefinedRoute<R>;
}
