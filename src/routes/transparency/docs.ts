/** OpenAPI entries for the transparency log routes (plain Hono routes: their answers are text and bytes, not JSON envelopes). */
import { z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';

type OpenAPIRegistry = OpenAPIHono['openAPIRegistry'];

const projectId = z.object({ projectId: z.string().openapi({ example: 'default' }) });
const text = (description: string) => ({ description, content: { 'text/plain': { schema: z.string() } } });
const bytes = (description: string) => ({ description, content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } });
const checkpointExample = 'keys.example.com/prekeyd/default\n3\nE8p4v2a3Sx9Jm6c3y0u3vQ3vKx0m0H9kYf3b2W1o2nE=\n\n— keys.example.com/prekeyd/default 2l0pWrQm…\n';
const json = (description: string, example: Record<string, unknown>) => ({
  description,
  content: {
    'application/json': {
      schema: z.object({ success: z.literal(true), data: z.record(z.string(), z.unknown()) }).openapi({ example: { success: true, data: example } }),
    },
  },
});
const proofHashes = ['bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=', '+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU='];
const notFound = { 404: { description: 'No such log, tile or leaf (NOT_FOUND)' } };

/** Read by witnesses and monitors without a key: no `x-prekeyd-action`, marked public instead; not rate limited (no key to count against). */
const publicRoute = { security: [] as Array<Record<string, string[]>>, 'x-prekeyd-public': true as const, 'x-prekeyd-rate-limit': 'none' as const };

export function documentTransparencyRoutes(registry: OpenAPIRegistry): void {
  const base = '/v1/transparency/{projectId}';
  const tags = ['Transparency'];
  registry.registerPath({
    ...publicRoute,
    method: 'get',
    path: `${base}/checkpoint`,
    tags,
    summary: 'The newest signed checkpoint (C2SP tlog-checkpoint), with cosignatures',
    request: { params: projectId },
    responses: { 200: text('Signed note'), ...notFound },
  });
  registry.registerPath({
    ...publicRoute,
    method: 'get',
    path: `${base}/key`,
    tags,
    summary: "The log's signed-note verifier key",
    request: { params: projectId },
    responses: { 200: text('Verifier key'), ...notFound },
  });
  registry.registerPath({
    ...publicRoute,
    method: 'get',
    path: `${base}/tile/*`,
    tags,
    summary:
      'C2SP tlog-tiles: tile/<L>/<N>[.p/<W>] (hash tiles, public) and tile/entries/<N>[.p/<W>] (entry bundles, action transparency.read unless the log is public)',
    request: { params: projectId },
    responses: {
      200: bytes('Tile or entry bundle'),
      401: { description: 'Entry bundles without a key (UNAUTHORIZED)' },
      403: { description: 'Key without transparency.read (FORBIDDEN)' },
      ...notFound,
    },
  });
  registry.registerPath({
    ...publicRoute,
    method: 'get',
    path: `${base}/proof/inclusion`,
    tags,
    summary: 'Inclusion proof of a leaf, by ?index= or ?hash= (leaf hash), in the tree of ?size= (default: the newest)',
    request: { params: projectId },
    responses: {
      200: json('The audit path', { leafIndex: 1, treeSize: 3, inclusionProof: proofHashes, checkpoint: checkpointExample }),
      400: { description: 'VALIDATION_ERROR' },
      ...notFound,
    },
  });
  registry.registerPath({
    ...publicRoute,
    method: 'get',
    path: `${base}/proof/consistency`,
    tags,
    summary: 'Consistency proof between ?from= and ?to= (default: the newest size)',
    request: { params: projectId },
    responses: {
      200: json('The consistency proof', { from: 2, to: 3, consistencyProof: proofHashes, checkpoint: checkpointExample }),
      400: { description: 'VALIDATION_ERROR' },
      ...notFound,
    },
  });
}
