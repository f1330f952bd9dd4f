/** Resolves every request under /v1 and /v2 to a caller (principal, project, IP) before any route runs. */
import type { Context, MiddlewareHandler } from 'hono';
import type { Authenticator } from '../domain/authentication.ts';
import type { AppEnv } from './env.ts';

/** Bearer token from the header, or `?access_token=` where browsers cannot set headers (WebSocket). */
export function bearerToken(c: Context): string | undefined {
  const header = c.req.header('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  return c.req.query('access_token') || undefined;
}

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
