/** POST /v1/anchors (action `anchors.write`) and GET /v1/anchors/{hash}: message hashes in the transparency log. */
import { z } from '@hono/zod-openapi';
import { createAnchor, readAnchor } from '../../domain/anchors.ts';
import type { Deps } from '../../domain/deps.ts';
import { createRouter, defineRoute, errorResponses, jsonBody, jsonResponse } from '../../http/openapi.ts';
import { success, withExample } from '../schemas.ts';
import { transparencyProofExample, transparencyProofSchema } from '../transparency/schemas.ts';

const hashSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (a SHA-256)')
  .openapi({ example: 'a'.repeat(64) });
const exampleHash = 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9';
const anchorResult = withExample(transparencyProofSchema.extend({ hash: hashSchema }).openapi('Anchor'), { hash: exampleHash, ...transparencyProofExample });

const create = defineRoute('anchors.write', {
  method: 'post',
  path: '/v1/anchors',
  rateLimit: 'keys',
  tags: ['Transparency'],
  summary: "Anchor a hash in the project's transparency log",
  description:
    'Appends a leaf with the hash (the message itself never reaches the server) and answers once a signed checkpoint covers it, with the inclusion proof. Anchoring a hash again answers its first leaf (200).',
  request: { body: jsonBody(withExample(z.object({ hash: hashSchema }).openapi('AnchorRequest'), { hash: exampleHash })) },
  responses: {
    201: jsonResponse(success(anchorResult), 'Anchored'),
    200: jsonResponse(success(anchorResult), 'Already anchored'),
    ...errorResponses(400, 403, 404),
  },
});

const read = defineRoute('anchors.write', {
  method: 'get',
  path: '/v1/anchors/{hash}',
  rateLimit: 'keys',
  tags: ['Transparency'],
  summary: 'An anchored hash with a fresh inclusion proof',
  request: { params: z.object({ hash: hashSchema }) },
  responses: {
    200: jsonResponse(success(anchorResult), 'The anchor'),
    ...errorResponses(400, 403, 404),
  },
});

export function anchorRoutes(deps: Deps) {
  return createRouter()
    .openapi(create, async (c) => {
      const { created, anchor } = await createAnchor(deps, c.get('caller'), c.req.valid('json'));
      return created ? c.json({ success: true as const, data: anchor }, 201) : c.json({ success: true as const, data: anchor }, 200);
    })
    .openapi(read, async (c) => {
      const data = await readAnchor(deps, c.get('caller'), c.req.valid('param').hash);
      return c.json({ success: true as const, data }, 200);
    });
}
