/** PUT /v2/keys, GET /v2/keys, POST /v2/keys/check: a Signal device managing its own keys. */
import { decodeBase64 } from '../../../packages/client/src/core/encoding.ts';
import type { Deps } from '../../domain/deps.ts';
import { checkSignalKeys, countSignalPreKeys } from '../../domain/signal-key-status.ts';
import { uploadSignalKeys } from '../../domain/signal-keys.ts';
import { createRouter, defineRoute, errorResponses, jsonBody, jsonResponse } from '../../http/openapi.ts';
import { callingAccount } from './account.ts';
import { withBasicAuth } from './openapi.ts';
import { accountQuery, checkKeysBody, checkKeysMessage, checkResult, preKeyCountResult, setKeysBody } from './schemas.ts';

const accountNote =
  'The device is the one named by Basic auth `identifier.deviceId:<key>`; with Bearer auth, by `?identifier=&deviceId=`. The key must be allowed to act as the identifier (its `userIds`).';

const upload = withBasicAuth(
  defineRoute('keys.register', {
    method: 'put',
    path: '/v2/keys',
    rateLimit: 'keys',
    tags: ['Signal'],
    summary: "Upload the calling device's keys (Signal's PUT /v2/keys)",
    description: [
      'A non-empty list replaces the stored keys of its kind; an absent field leaves them alone; at most 100 keys per list.',
      "The first upload of a device creates its key set and needs `signedPreKey`, plus `identityKey` unless another device of the account already has one (all devices share the account's identity key).",
      'A different `identityKey` than the registered one is refused (409): revoke the old keys with POST /v1/keys/revoke first.',
      'Signatures are XEdDSA by the identity key over the serialized key; a bad one is 422 INVALID_SIGNATURE, as in Signal.',
      'Needs `keys.register` for the first upload and every later one (Signal uses this one call for both).',
      accountNote,
    ].join(' '),
    request: { query: accountQuery, body: jsonBody(setKeysBody) },
    responses: {
      204: { description: 'Keys stored' },
      ...errorResponses(400, 403, 409, 413, 422),
    },
  }),
);

const count = withBasicAuth(
  defineRoute('keys.read', {
    method: 'get',
    path: '/v2/keys',
    rateLimit: 'keys',
    tags: ['Signal'],
    summary: 'How many one-time pre-keys the calling device has left',
    description: `EC (\`count\`) and Kyber (\`pqCount\`) one-time pre-keys; 0 and 0 for a device without keys. ${accountNote}`,
    request: { query: accountQuery },
    responses: {
      200: jsonResponse(preKeyCountResult, 'Pre-key counts'),
      ...errorResponses(400, 403),
    },
  }),
);

const check = withBasicAuth(
  defineRoute('keys.read', {
    method: 'post',
    path: '/v2/keys/check',
    rateLimit: 'keys',
    tags: ['Signal'],
    summary: "Check that the server holds the device's repeated-use keys (Signal's checkKeys)",
    description: [
      '`digest` = SHA-256(identityKey ‖ signedPreKeyId ‖ signedPreKey ‖ lastResortKeyId ‖ lastResortKey): keys serialized with their type byte,',
      'ids as 8-byte big-endian integers, the last-resort key being the Kyber one. 200 when it matches, 409 when not or when a key is missing.',
      accountNote,
    ].join(' '),
    request: { query: accountQuery, body: jsonBody(checkKeysBody) },
    responses: {
      200: jsonResponse(checkResult, 'The stored keys match'),
      ...errorResponses(400, 403, 409),
    },
  }),
);

export function deviceRoutes(deps: Deps) {
  return createRouter()
    .openapi(upload, async (c) => {
      await uploadSignalKeys(deps, c.get('caller'), callingAccount(c.get('signalAccount'), c.req.valid('query')), c.req.valid('json'));
      return c.body(null, 204);
    })
    .openapi(count, async (c) => {
      const counts = await countSignalPreKeys(deps, c.get('caller'), callingAccount(c.get('signalAccount'), c.req.valid('query')));
      return c.json(counts, 200);
    })
    .openapi(check, async (c) => {
      const account = callingAccount(c.get('signalAccount'), c.req.valid('query'));
      await checkSignalKeys(deps, c.get('caller'), account, decodeBase64(c.req.valid('json').digest)!);
      return c.json({ success: true as const, message: checkKeysMessage }, 200);
    });
}
