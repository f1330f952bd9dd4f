/** GET /v1/keys/bundles/:userId (every device in one claim) and GET /v1/keys/devices/:userId. */
import { claimDeviceBundles } from '../../domain/device-bundles.ts';
import type { Deps } from '../../domain/deps.ts';
import { listDevices } from '../../domain/device-lists.ts';
import { createRouter, defineRoute, errorResponses, jsonResponse } from '../../http/openapi.ts';
import { success } from '../schemas.ts';
import { deviceBundlesQuery, deviceBundlesResult, deviceListResult } from './device-schemas.ts';
import { userParam } from './schemas.ts';

const claim = defineRoute('bundles.fetch', {
  method: 'get',
  path: '/v1/keys/bundles/{userId}',
  rateLimit: 'bundle',
  tags: ['Keys'],
  summary: 'Claim a bundle of every active device of a user (or of the named devices), in one transaction',
  description:
    'Each served device consumes one one-time pre-key and one ML-KEM pre-key when it has them, exactly as `GET /v1/keys/bundle/:userId` does (the same bundle shape, `pqPreKey`, warning and last-resort pre-keys). Suspended, expired, revoked and unknown devices are named in `failures` with their status and error rather than failing the claim. At most `--max-devices-per-claim` devices (default 100) per claim; the drain limit counts one per pre-key consumed (EC and ML-KEM alike), the bundle rate limit one per bundle that consumed one. `deviceListVersion` is the version of the device list the claim was served from.',
  request: { params: userParam, query: deviceBundlesQuery },
  responses: {
    200: jsonResponse(success(deviceBundlesResult), 'A bundle per servable device, and the reason for each other one'),
    ...errorResponses(400, 403, 404),
  },
});

const devices = defineRoute('keys.read', {
  method: 'get',
  path: '/v1/keys/devices/{userId}',
  rateLimit: 'keys',
  tags: ['Keys'],
  summary: "A user's devices with their status, and the device list's version",
  description:
    '`deviceListVersion` grows by one with every change a sender must act on: a device registered, revoked, suspended or unsuspended, a signed pre-key expiring, a rotation reviving an expired device. A cached list with the same version is current; each change is also pushed as `devices.changed`.',
  request: { params: userParam },
  responses: {
    200: jsonResponse(success(deviceListResult), 'The device list'),
    ...errorResponses(400, 403, 404),
  },
});

export function deviceRoutes(deps: Deps) {
  return createRouter()
    .openapi(claim, async (c) => {
      const data = await claimDeviceBundles(deps, c.get('caller'), c.req.valid('param').userId, c.req.valid('query').deviceIds);
      // A bundle that consumed a one-time pre-key of either kind is a fetch.
      const consumed = data.devices.filter((bundle) => bundle.oneTimePreKey !== null || bundle.pqPreKey?.lastResort === false).length;
      c.set('extraPreKeysConsumed', consumed - 1); // the rate limit counted one up front
      return c.json({ success: true as const, data }, 200);
    })
    .openapi(devices, async (c) => {
      const data = await listDevices(deps, c.get('caller'), c.req.valid('param').userId);
      return c.json({ success: true as const, data }, 200);
    });
}
