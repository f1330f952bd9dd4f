/** POST /v1/api-keys (create: the only answer that shows the secret) and GET /v1/api-keys (list). */
import { createApiKey, listApiKeys } from '../../domain/api-keys.ts';
import type { Deps } from '../../domain/deps.ts';
import { createRouter, defineRoute, errorResponses, jsonBody, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import { paginationLinks } from './link-header.ts';
import { apiKeyListSchema, createApiKeyBody, createdApiKeySchema, listApiKeysQuery } from './schemas.ts';

export const createdMessage = 'API key created; store the key now, it is not shown again';

const create = defineRoute('apiKeys.manage', {
  method: 'post',
  path: '/v1/api-keys',
  rateLimit: 'none',
  tags: ['API keys'],
  summary: 'Create an API key',
  description:
    'Returns the secret `key` once; only its hash is stored. An API key can create keys only in its own project and grant only the actions and user patterns it holds itself.',
  request: { body: jsonBody(createApiKeyBody) },
  responses: {
    201: jsonResponse(success(createdApiKeySchema, createdMessage), 'The new key, with its secret'),
    ...errorResponses(400, 403, 413),
  },
});

const list = defineRoute('apiKeys.manage', {
  method: 'get',
  path: '/v1/api-keys',
  rateLimit: 'none',
  tags: ['API keys'],
  summary: 'List API keys, newest first',
  description: '25 a page by default (at most 100). Pagination is in the body and in the `Link` header (rel="prev", rel="next"). The secret is never shown.',
  request: { query: listApiKeysQuery },
  responses: {
    200: {
      ...jsonResponse(apiKeyListSchema, 'A page of keys'),
      headers: { Link: { description: 'rel="prev" and rel="next" page URLs, when there are such pages', schema: { type: 'string' } } },
    },
    ...errorResponses(400, 403),
  },
});

export function apiKeyCollectionRoutes(deps: Deps) {
  return createRouter()
    .openapi(create, async (c) => {
      const data = await createApiKey(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, message: createdMessage, data }, 201);
    })
    .openapi(list, async (c) => {
      const { data, pagination } = await listApiKeys(deps, c.get('caller'), c.req.valid('query'));
      const link = paginationLinks(c.req.url, pagination);
      if (link) c.header('Link', link);
      return c.json({ success: true as const, data, pagination }, 200);
    });
}
