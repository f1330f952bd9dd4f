/** Resolves every request under /v1 and /v2 to a caller (principal, project, IP) before any route runs. */
import type { Context, MiddlewareHandler } from 'hono';
import type { Authenticator } from '../domain/authentication.ts';
import { AppError } from '../domain/errors.ts';
import type { AppEnv } from './env.ts';

/**
 * Bearer token from the `Authorization` header, or `?access_token=` where browsers cannot set
 * headers (the WebSocket upgrade only: routes/events/upgrade.ts). A malformed header is not
 * overridden by the query parameter.
 */
export function parseBearerToken(authorization: string | undefined, accessToken: string | null | undefined): string | undefined {
  if (authorization) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  return accessToken || undefined;
}

/**
 * HTTP routes take the header only: a key in a URL ends up in proxy logs, browser history,
 * `Referer` and next-page links.
 */
export const bearerToken = (c: Context): string | undefined => parseBearerToken(c.req.header('authorization'), undefined);

const queryTokenRefused = () =>
  new AppError('UNAUTHORIZED', '?access_token= is accepted only on the WebSocket upgrade (GET /v1/events); send Authorization: Bearer <key>');

export type TokenExtractor = (c: Context) => { token: string | undefined; basicUser?: string };

export function authenticate(
  authenticator: Authenticator,
  clientIp: (c: Context) => string | null,
  extract: TokenExtractor = (c) => ({ token: bearerToken(c) }),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { token } = extract(c);
    if (token === undefined && c.req.query('access_token') !== undefined) throw queryTokenRefused();
    const principal = await authenticator.authenticate(token, c.req.header('x-project-id'));
    c.set('caller', { principal, projectId: principal.projectId, ipAddress: clientIp(c) });
    await next();
  };
}
