/** GET, PATCH, PUT and DELETE /v1/api-keys/:uid. PUT takes the same partial body as PATCH (seed 003). */
import { deleteApiKey, getApiKey, updateApiKey } from '../../domain/api-keys.ts';
import type { Deps } from '../../domain/deps.ts';
import { createRouter, defineRoute, errorResponses, jsonBody, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import { apiKeySchema, uidParam, updateApiKeyBody, updatedApiKeyExample } from './schemas.ts';

const read = defineRoute('apiKeys.manage', {
  method: 'get',
  path: '/v1/api-keys/{uid}',
  rateLimit: 'none',
  tags: ['API keys'],
  summary: 'Get one API key (never its secret)',
  request: { params: uidParam },
  responses: {
    200: jsonResponse(success(apiKeySchema), 'The key'),
    ...errorResponses(400, 403, 404),
  },
});

const updateRoute = (method: 'patch' | 'put') =>
  defineRoute('apiKeys.manage', {
    method,
    path: '/v1/api-keys/{uid}',
    rateLimit: 'none',
    tags: ['API keys'],
    summary: method === 'patch' ? 'Update an API key' : 'Update an API key (same as PATCH)',
    description:
      'Changes description, acl, userIds or revoked; a revoked key is refused from the very next request. `expiresAt` and `projectId` cannot be changed (400 IMMUTABLE_FIELD).',
    request: { params: uidParam, body: jsonBody(updateApiKeyBody) },
    responses: {
      200: jsonResponse(success(apiKeySchema, 'API key updated', updatedApiKeyExample), 'The updated key'),
      ...errorResponses(400, 403, 404, 413),
    },
  });

const remove = defineRoute('apiKeys.manage', {
  method: 'delete',
  path: '/v1/api-keys/{uid}',
  rateLimit: 'none',
  tags: ['API keys'],
  summary: 'Delete an API key',
  request: { params: uidParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses(400, 403, 404),
  },
});

export function apiKeyItemRoutes(deps: Deps) {
  const router = createRouter().openapi(read, async (c) => {
    const data = await getApiKey(deps, c.get('caller'), c.req.valid('param').uid);
    return c.json({ success: true as const, data }, 200);
  });
  for (const method of ['patch', 'put'] as const) {
    router.openapi(updateRoute(method), async (c) => {
      const data = await updateApiKey(deps, c.get('caller'), c.req.valid('param').uid, c.req.valid('json'));
      return c.json({ success: true as const, message: 'API key updated', data }, 200);
    });
  }
  return router.openapi(remove, async (c) => {
    await deleteApiKey(deps, c.get('caller'), c.req.valid('param').uid);
    return c.body(null, 204);
  });
}
