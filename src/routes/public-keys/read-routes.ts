/** GET /v1/public-keys (the directory, optionally one owner's) and GET /v1/public-keys/:id. */
import type { Deps } from '../../domain/deps.ts';
import { getPublicKey, listPublicKeys } from '../../domain/public-keys.ts';
import { createRouter, defineRoute, errorResponses, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import { idParam, listQuery, listResult, publicKeySchema } from './schemas.ts';

const list = defineRoute('publicKeys.read', {
  method: 'get',
  path: '/v1/public-keys',
  rateLimit: 'none',
  tags: ['Public keys'],
  summary: "List the project's public keys, newest first; `ownerId` narrows to one owner",
  request: { query: listQuery },
  responses: {
    200: jsonResponse(listResult, 'A page of public keys'),
    ...errorResponses(400, 403),
  },
});

const get = defineRoute('publicKeys.read', {
  method: 'get',
  path: '/v1/public-keys/{id}',
  rateLimit: 'none',
  tags: ['Public keys'],
  summary: 'Get one public key',
  request: { params: idParam },
  responses: {
    200: jsonResponse(success(publicKeySchema), 'The public key'),
    ...errorResponses(400, 403, 404),
  },
});

export function readRoutes(deps: Deps) {
  return createRouter()
    .openapi(list, async (c) => {
      const { data, pagination } = await listPublicKeys(deps, c.get('caller'), c.req.valid('query'));
      return c.json({ success: true as const, data, pagination }, 200);
    })
    .openapi(get, async (c) => {
      const data = await getPublicKey(deps, c.get('caller'), c.req.valid('param').id);
      return c.json({ success: true as const, data }, 200);
    });
}
