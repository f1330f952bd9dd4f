/** Hands every refused request to the refusal log (audit entry or counts, see domain/refusals.ts). */
import type { Context } from 'hono';
import { RefusedKeyError } from '../domain/authentication.ts';
import type { AppError } from '../domain/errors.ts';
import type { RefusalLog } from '../domain/refusals.ts';
import type { AppEnv } from './env.ts';
import { routePattern } from './observe.ts';

/** The user a request named, from input that passed validation only (never raw request text). */
function validatedUserId(c: Context<AppEnv>): string | null {
  const req = c.req as unknown as { valid(target: string): Record<string, unknown> | undefined };
  for (const target of ['json', 'param', 'query']) {
    const userId = req.valid(target)?.userId;
    if (typeof userId === 'string') return userId;
  }
  return null;
}

export async function recordRefusal(c: Context<AppEnv>, error: AppError, log: RefusalLog): Promise<void> {
  if (error.status >= 500) return;
  if (error.code === 'UNAUTHORIZED') {
    const known = error instanceof RefusedKeyError ? error : undefined;
    log.unauthorized(known?.projectId, known?.actor);
    return;
  }
  const caller = c.get('caller');
  if (!caller) return; // refused before authentication (413, a bad Content-Type…)
  await log.refused(caller, error, { route: `${c.req.method} ${routePattern(c)}`, userId: validatedUserId(c) });
}
