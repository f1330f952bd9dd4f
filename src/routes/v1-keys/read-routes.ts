/** GET /v1/keys/bundle/:userId, /v1/keys/verify/:userId, /v1/keys/list. */
import { fetchBundle } from '../../domain/bundles.ts';
import type { Deps } from '../../domain/deps.ts';
import { listKeySets, verifyKeys } from '../../domain/key-status.ts';
import { createRouter, defineRoute, errorResponses, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import { bundleQuery, bundleResult, listQuery, listResult, userParam, verifyResult } from './schemas.ts';

const bundle = defineRoute('bundles.fetch', {
  method: 'get',
  path: '/v1/keys/bundle/{userId}',
  rateLimit: 'bundle',
  tags: ['Keys'],
  summary: "Fetch a user's pre-key bundle, consuming one one-time pre-key",
  description:
    'Takes the oldest one-time pre-key atomically. With none left (or past the per-key drain limit) `oneTimePreKey` is null, `warning` says forward secrecy is reduced, and the last-resort pre-key is returned if there is one.',
  request: { params: userParam, query: bundleQuery },
  responses: {
    200: jsonResponse(success(bundleResult), 'The bundle'),
    ...errorResponses(400, 403, 404, 410),
  },
});

const verify = defineRoute('keys.read', {
  method: 'get',
  path: '/v1/keys/verify/{userId}',
  rateLimit: 'keys',
  tags: ['Keys'],
  summary: "Check whether a user's keys are valid and active",
  request: { params: userParam, query: bundleQuery },
  responses: {
    200: jsonResponse(success(verifyResult), 'Key status'),
    ...errorResponses(400, 403, 404),
  },
});

const list = defineRoute('keys.read', {
  method: 'get',
  path: '/v1/keys/list',
  rateLimit: 'keys',
  tags: ['Keys'],
  summary: "List the project's key sets",
  request: { query: listQuery },
  responses: {
    200: jsonResponse(listResult, 'A page of key sets'),
    ...errorResponses(400, 403),
  },
});

export function readRoutes(deps: Deps) {
  return createRouter()
    .openapi(bundle, async (c) => {
      const data = await fetchBundle(deps, c.get('caller'), c.req.valid('param').userId, c.req.valid('query').deviceId);
      return c.json({ success: true as const, data }, 200);
    })
    .openapi(verify, async (c) => {
      const data = await verifyKeys(deps, c.get('caller'), c.req.valid('param').userId, c.req.valid('query').deviceId);
      return c.json({ success: true as const, data }, 200);
    })
    .openapi(list, async (c) => {
      const { data, pagination } = await listKeySets(deps, c.get('caller'), c.req.valid('query'));
      return c.json({ success: true as const, data, pagination }, 200);
    });
}
