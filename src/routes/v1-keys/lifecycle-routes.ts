/** POST /v1/keys/register, rotate, revoke, suspend, unsuspend. */
import type { Deps } from '../../domain/deps.ts';
import { registerKeys, rotateKeys } from '../../domain/key-sets.ts';
import { revokeKeys, suspendKeys, unsuspendKeys } from '../../domain/revocation.ts';
import { createRouter, defineRoute, errorResponses, jsonBody, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import {
  registerBody,
  registerResult,
  revokeBody,
  revokeResult,
  rotateBody,
  rotateResult,
  suspendBody,
  suspendedExample,
  suspensionResult,
  unsuspendBody,
  unsuspendedExample,
} from './schemas.ts';

const register = defineRoute('keys.register', {
  method: 'post',
  path: '/v1/keys/register',
  rateLimit: 'keys',
  tags: ['Keys'],
  summary: 'Register a key set',
  description: "Publishes a user's identity key, signed pre-key and 1-100 one-time pre-keys. One non-revoked key set per user and device.",
  request: { body: jsonBody(registerBody) },
  responses: {
    201: jsonResponse(success(registerResult, 'Keys registered successfully'), 'Keys registered'),
    ...errorResponses(400, 403, 409, 413),
  },
});

const rotate = defineRoute('keys.rotate', {
  method: 'post',
  path: '/v1/keys/rotate',
  rateLimit: 'keys',
  tags: ['Keys'],
  summary: 'Rotate the signed pre-key and/or replenish one-time pre-keys',
  request: { body: jsonBody(rotateBody) },
  responses: {
    200: jsonResponse(success(rotateResult, 'Keys rotated successfully'), 'Keys rotated'),
    ...errorResponses(400, 403, 404, 409, 410, 413),
  },
});

const revoke = defineRoute('keys.revoke', {
  method: 'post',
  path: '/v1/keys/revoke',
  rateLimit: 'keys',
  tags: ['Keys'],
  summary: "Revoke a user's keys (every device unless deviceId is given); irreversible",
  request: { body: jsonBody(revokeBody) },
  responses: {
    200: jsonResponse(success(revokeResult, 'Keys revoked successfully'), 'Keys revoked'),
    ...errorResponses(400, 403, 404, 410),
  },
});

const suspend = defineRoute('keys.revoke', {
  method: 'post',
  path: '/v1/keys/suspend',
  rateLimit: 'keys',
  tags: ['Keys'],
  summary: "Suspend a user's keys: bundles are refused until unsuspended",
  request: { body: jsonBody(suspendBody) },
  responses: {
    200: jsonResponse(success(suspensionResult, 'Keys suspended', suspendedExample), 'Keys suspended'),
    ...errorResponses(400, 403, 404, 410),
  },
});

const unsuspend = defineRoute('keys.revoke', {
  method: 'post',
  path: '/v1/keys/unsuspend',
  rateLimit: 'keys',
  tags: ['Keys'],
  summary: "Lift a suspension of a user's keys",
  request: { body: jsonBody(unsuspendBody) },
  responses: {
    200: jsonResponse(success(suspensionResult, 'Keys unsuspended', unsuspendedExample), 'Keys unsuspended'),
    ...errorResponses(400, 403, 404, 410),
  },
});

export function lifecycleRoutes(deps: Deps) {
  return createRouter()
    .openapi(register, async (c) => {
      const data = await registerKeys(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, message: 'Keys registered successfully', data }, 201);
    })
    .openapi(rotate, async (c) => {
      const data = await rotateKeys(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, message: 'Keys rotated successfully', data }, 200);
    })
    .openapi(revoke, async (c) => {
      const data = await revokeKeys(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, message: 'Keys revoked successfully', data }, 200);
    })
    .openapi(suspend, async (c) => {
      const data = await suspendKeys(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, message: 'Keys suspended', data }, 200);
    })
    .openapi(unsuspend, async (c) => {
      const data = await unsuspendKeys(deps, c.get('caller'), c.req.valid('json'));
      return c.json({ success: true as const, message: 'Keys unsuspended', data }, 200);
    });
}
