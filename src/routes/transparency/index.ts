/**
 * `/v1/transparency/<projectId>/`: the C2SP tlog-tiles layout of each project's log
 * (`checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`), its verifier key at `key`,
 * and JSON proof helpers. Checkpoints, hash tiles, keys and proofs are public (witnesses and
 * monitors need them, and they name no one); entry bundles name users, so they need the action
 * `transparency.read` unless the project's log is public.
 */
import { Hono } from 'hono';
import type { Context } from 'hono';
import type { Authenticator } from '../../domain/authentication.ts';
import { AppError } from '../../domain/errors.ts';
import { requireAction } from '../../domain/principal.ts';
import type { TransparencyLog } from '../../domain/transparency/log.ts';
import { bearerToken } from '../../http/auth.ts';
import type { AppEnv } from '../../http/env.ts';
import { proofRoutes } from './proof-routes.ts';
import { tileRoutes } from './tile-routes.ts';

const projectPattern = /^[A-Za-z0-9_-]{1,64}$/;

export interface TransparencyRouteDeps {
  transparency: TransparencyLog | undefined;
  authenticator: Authenticator;
}

/** The log of the `:projectId` in the path; 404 when there is none (yet). */
export async function logOf(deps: TransparencyRouteDeps, c: Context) {
  const projectId = c.req.param('projectId') ?? '';
  if (!deps.transparency) throw new AppError('NOT_FOUND', 'Key transparency is off on this server');
  if (!projectPattern.test(projectId)) throw new AppError('NOT_FOUND', 'No such transparency log');
  const checkpoint = await deps.transparency.latest(projectId);
  if (!checkpoint) throw new AppError('NOT_FOUND', `Project ${projectId} has no checkpoint yet`);
  return { log: deps.transparency, projectId, checkpoint };
}

/** Entry bundles: an API key of the project with `transparency.read`, the master key, or a public log. */
export async function requireEntryAccess(deps: TransparencyRouteDeps, c: Context, projectId: string): Promise<void> {
  const publicProjects = deps.transparency?.settings.publicProjects ?? [];
  if (publicProjects.includes('*') || publicProjects.includes(projectId)) return;
  const principal = await deps.authenticator.authenticate(bearerToken(c), projectId);
  if (principal.kind !== 'master' && principal.projectId !== projectId) throw new AppError('FORBIDDEN', 'This key belongs to another project');
  requireAction(principal, 'transparency.read');
}

export function transparencyRoutes(deps: TransparencyRouteDeps) {
  const app = new Hono<AppEnv>();
  const text = (c: Context, body: string, cache: string) => c.body(body, 200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': cache });

  app.get('/v1/transparency/:projectId/checkpoint', async (c) => {
    const { checkpoint } = await logOf(deps, c);
    return text(c, checkpoint.note, 'no-cache, max-age=1');
  });
  app.get('/v1/transparency/:projectId/key', async (c) => {
    const { checkpoint } = await logOf(deps, c);
    return text(c, `${checkpoint.verifierKey}\n`, 'no-cache');
  });
  app.route('/', tileRoutes(deps));
  app.route('/', proofRoutes(deps));
  return app;
}
