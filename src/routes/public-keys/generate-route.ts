/**
 * POST /v1/public-keys/generate (seed 002's register): the server makes the key pair and hands
 * the private key back once. Opt-in (`--allow-server-keygen`), since the server then sees it.
 */
import type { Deps } from '../../domain/deps.ts';
import { generatePublicKey } from '../../domain/public-keys.ts';
import { createRouter, defineRoute, errorResponses, jsonBody, jsonResponse } from '../../http/openapi.ts';
import { generateBody, generatedMessage, generateResult } from './schemas.ts';

const generate = defineRoute('publicKeys.generate', {
  method: 'post',
  path: '/v1/public-keys/generate',
  rateLimit: 'none',
  tags: ['Public keys'],
  summary: 'Generate a key pair on the server, store its public key, return the private key once',
  description:
    'Off unless the server runs with `--allow-server-keygen` (403 otherwise). The private key is in `result.privateKey` only; it is never stored, audited or logged, and no later call returns it. Prefer generating keys on the client and importing the public key.',
  request: { body: jsonBody(generateBody) },
  responses: {
    201: jsonResponse(generateResult, 'The key pair; `data` is the stored public key'),
    ...errorResponses(400, 403, 409, 413),
  },
});

export function generateRoutes(deps: Deps) {
  return createRouter().openapi(generate, async (c) => {
    const { key, privateKey } = await generatePublicKey(deps, c.get('caller'), c.req.valid('json'));
    // A private key must not linger in any cache between here and the client.
    c.header('Cache-Control', 'no-store');
    const result = { id: key.id, publicKey: key.publicKey, privateKey };
    return c.json({ success: true as const, message: generatedMessage, result, data: key }, 201);
  });
}
