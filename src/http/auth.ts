/** Resolves every request under /v1 and /v2 to a caller (principal, project, IP) before any route runs. */
import type { Context, MiddlewareHandler } from 'hono';
import type { Authenticator } from '../domain/authentication.ts';
import type { AppEnv } from './env.ts';

/**
 * Bearer token from the `Authorization` header, or `?access_token=` where browsers cannot set
 * headers (WebSocket). A malformed header is not overridden by the query parameter.
 */
export function parseBearerToken(authorization: string | undefined, accessToken: string | null | undefined): string | undefined {
  if (authorization) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
  return accessToken || undefined;
}

export const bearerToken = (c: Context): string | undefined => parseBearerToken(c.req.header('authorization'), c.req.query('access_token'));

export type TokenExtractor = (c: Context) => { token: string | undefined; basicUser?: string };

export function authenticate(
  authenticator: Authenticator,
  clientIp: (c: Context) => string | null,
  extract: TokenExtractor = (c) => ({ token: bearerToken(c) }),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { token } = extract(c);
    const principal = await authenticator.authenticate(token, c.req.header('x-project-id'));
    c.set('caller', { principal, projectId: principal.projectId, ipAddress: clientIp(c) });
    await next();
  };
}
