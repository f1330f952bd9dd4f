/** GET /v2/keys/:identifier/:deviceId: Signal's pre-key bundle fetch, one bundle per device. */
import type { Deps } from '../../domain/deps.ts';
import { fetchSignalBundles } from '../../domain/signal-bundles.ts';
import { createRouter, defineRoute, errorResponses, jsonResponse } from '../../http/openapi.ts';
import { withBasicAuth } from './openapi.ts';
import { bundleParams, bundleResult } from './schemas.ts';

const bundle = withBasicAuth(
  defineRoute('bundles.fetch', {
    method: 'get',
    path: '/v2/keys/{identifier}/{deviceId}',
    rateLimit: 'bundle',
    tags: ['Signal'],
    summary: "Fetch an account's pre-key bundles (Signal's GET /v2/keys/:identifier/:deviceId)",
    description: [
      'For each device: its signed pre-key, one EC one-time pre-key (else the EC last-resort key, else absent) and one Kyber',
      'one-time pre-key (else the Kyber last-resort key), taken atomically. 404 when no device has keys; revoked devices are gone.',
      'A suspended device is 403 and an expired one 410 when asked for by id; with `*` such devices are left out.',
      'Past the per-key drain limit no one-time pre-key is consumed and the last-resort keys are served.',
    ].join(' '),
    request: { params: bundleParams },
    responses: {
      200: jsonResponse(bundleResult, 'The bundles'),
      ...errorResponses(400, 403, 404, 410),
    },
  }),
);

export function bundleRoutes(deps: Deps) {
  return createRouter().openapi(bundle, async (c) => {
    const { identifier, deviceId } = c.req.valid('param');
    return c.json(await fetchSignalBundles(deps, c.get('caller'), identifier, deviceId), 200);
  });
}
