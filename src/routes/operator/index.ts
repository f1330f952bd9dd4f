/**
 * What the operator console needs beyond the key API: who the caller is (`GET /v1/whoami`, any
 * valid key), the instance's status (`GET /v1/admin/status`, `metrics.read`) and one user's key
 * sets with their rotation history (`GET /v1/admin/users/{userId}/key-sets`, `keys.read`).
 */
import { serverStatus } from '../../domain/server-status.ts';
import { userKeySets } from '../../domain/user-key-sets.ts';
import { describeCaller } from '../../domain/whoami.ts';
import type { AppDeps } from '../deps.ts';
import { createRouter, defineRoute, errorResponses, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import { userParam } from '../v1-keys/schemas.ts';
import * as schemas from './schemas.ts';

// Any valid key may ask what it is: no action needed (`x-prekeyd-any-key` tells the route tests so).
const whoami = defineRoute(null, {
  method: 'get',
  path: '/v1/whoami',
  rateLimit: 'none',
  tags: ['Operations'],
  summary: "The calling key's project, actions and user patterns",
  description: 'Lets clients offer only what the key may do. Never returns the secret.',
  security: [{ bearerAuth: [] }],
  'x-prekeyd-any-key': true,
  responses: { 200: jsonResponse(success(schemas.callerDescription), 'The caller'), ...errorResponses() },
});

const status = defineRoute('metrics.read', {
  method: 'get',
  path: '/v1/admin/status',
  rateLimit: 'none',
  tags: ['Operations'],
  summary: 'Version, uptime, storage, traffic per minute, push connections and store figures of this instance',
  responses: { 200: jsonResponse(success(schemas.serverStatus), 'Status'), ...errorResponses(403) },
});

const keySets = defineRoute('keys.read', {
  method: 'get',
  path: '/v1/admin/users/{userId}/key-sets',
  rateLimit: 'none',
  tags: ['Operations'],
  summary: 'Every key set of a user (all devices, all statuses) with pre-key levels and rotation history',
  request: { params: userParam },
  responses: { 200: jsonResponse(success(schemas.userKeySets), "The user's key sets"), ...errorResponses(400, 403, 404) },
});

export function operatorRoutes(deps: AppDeps) {
  const startedAt = deps.clock.now();
  const sources = {
    version: deps.version ?? '0.0.0',
    startedAt,
    metrics: deps.metrics,
    rateLimits: { keys: deps.http.rateLimitKeys, bundle: deps.http.rateLimitBundle },
  };
  return createRouter()
    .openapi(whoami, async (c) => c.json({ success: true as const, data: await describeCaller(deps, c.get('caller'), sources.rateLimits) }, 200))
    .openapi(status, async (c) => c.json({ success: true as const, data: await serverStatus(deps, c.get('caller'), sources) }, 200))
    .openapi(keySets, async (c) => {
      const data = await userKeySets(deps, c.get('caller'), c.req.valid('param').userId);
      return c.json({ success: true as const, data }, 200);
    });
}
