/** POST /v1/public-keys (import a client-made public key) and DELETE /v1/public-keys/:id. */
import type { Deps } from '../../domain/deps.ts';
import { deletePublicKey, importPublicKey } from '../../domain/public-keys.ts';
import { createRouter, defineRoute, errorResponses, jsonBody, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import { idParam, importBody, publicKeySchema } from './schemas.ts';

const importKey = defineRoute('publicKeys.write', {
  method: 'post',
  path: '/v1/public-keys',
  rateLimit: 'none',
  tags: ['Public keys'],
  summary: 'Import a public key for an owner',
  description: 'The key is checked to be a valid point of its curve. Names are unique per owner (409).',
  request: { body: jsonBody(importBody) },
  responses: {
    201: jsonResponse(success(publicKeySchema, 'Public key added'), 'Public key added'),
    ...errorResponses(400, 403, 409, 413),
  },
});

const remove = defineRoute('publicKeys.write', {
  method: 'delete',
  path: '/v1/public-keys/{id}',
  rateLimit: 'none',
  tags: ['Public keys'],
  summary: 'Delete a public key',
  request: { params: idParam },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses(400, 403, 404),
  },
});

export function writeRoutes(deps: Deps) {
  return createRouter()
    .openapi(importKey, async (c) => {
      const data = await importPublicKey(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, message: 'Public key added', data }, 201);
    })
    .openapi(remove, async (c) => {
      await deletePublicKey(deps, c.get('caller'), c.req.valid('param').id);
      return c.body(null, 204);
    });
}
