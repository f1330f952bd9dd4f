/** Shapes of the multi-device routes: `GET /v1/keys/bundles/:userId` and `GET /v1/keys/devices/:userId`. */
import { z } from '@hono/zod-openapi';
import { v1Keys } from '../examples.ts';
import { deviceId, withExample } from '../schemas.ts';
import { bundleResult } from './schemas.ts';

const { signedPreKey, oneTimePreKeys } = v1Keys;

/** Bound on the list itself; the configured per-claim cap (--max-devices-per-claim) is checked by the domain. */
const maxListedDevices = 1000;

export const deviceBundlesQuery = z.object({
  deviceIds: z
    .string()
    .transform((value) => value.split(','))
    .pipe(
      z
        .array(deviceId)
        .min(1)
        .max(maxListedDevices, `at most ${maxListedDevices} device ids`)
        .refine((ids) => new Set(ids).size === ids.length, 'device ids must be distinct'),
    )
    .optional()
    .openapi({
      type: 'string',
      example: 'phone,laptop',
      description: 'Comma-separated device ids to claim; without it, every active device of the user',
    }),
});

const status = z.enum(['active', 'revoked', 'expired', 'suspended']);

export const deviceFailure = z.object({ errorCode: z.string(), error: z.string(), status: status.optional() }).openapi('DeviceFailure');

export const deviceBundlesResult = withExample(
  z
    .object({
      userId: z.string(),
      deviceListVersion: z.number().int(),
      devices: z.array(bundleResult),
      failures: z.record(z.string(), deviceFailure),
    })
    .openapi('DeviceBundles'),
  {
    userId: 'user_abc123',
    deviceListVersion: 7,
    devices: [
      {
        userId: 'user_abc123',
        deviceId: 'laptop',
        identityKey: v1Keys.identityKey,
        signedPreKey,
        oneTimePreKey: { keyId: 'opk_001', publicKey: oneTimePreKeys.opk_001 },
        pqPreKey: null,
        remainingOneTimePreKeys: 14,
        remainingPqOneTimePreKeys: 0,
      },
      {
        userId: 'user_abc123',
        deviceId: 'phone',
        identityKey: v1Keys.identityKey,
        signedPreKey,
        oneTimePreKey: { keyId: 'opk_002', publicKey: oneTimePreKeys.opk_002 },
        pqPreKey: null,
        remainingOneTimePreKeys: 3,
        remainingPqOneTimePreKeys: 0,
      },
    ],
    failures: {
      tablet: { errorCode: 'KEYS_SUSPENDED', error: 'The keys of user user_abc123 are suspended', status: 'suspended' },
      watch: { errorCode: 'NOT_FOUND', error: 'No keys registered for device watch of user user_abc123' },
    },
  },
);

const deviceExample = {
  deviceId: 'phone',
  status: 'active',
  deviceName: 'iPhone 15',
  identityKeyFingerprint: v1Keys.identityKeyFingerprint,
  registeredAt: '2026-03-08T10:00:00.000Z',
  lastRotatedAt: '2026-03-08T12:00:00.000Z',
  signedPreKeyExpiresAt: '2026-04-07T12:00:00.000Z',
  revokedAt: null,
  oneTimePreKeysRemaining: 15,
  pqOneTimePreKeysRemaining: 0,
} as const;

export const deviceSummary = z
  .object({
    deviceId: z.string(),
    status,
    deviceName: z.string().nullable(),
    identityKeyFingerprint: z.string(),
    registeredAt: z.string(),
    lastRotatedAt: z.string().nullable(),
    signedPreKeyExpiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    oneTimePreKeysRemaining: z.number().int(),
    pqOneTimePreKeysRemaining: z.number().int(),
  })
  .openapi('Device', { example: deviceExample });

export const deviceListResult = withExample(
  z.object({ userId: z.string(), deviceListVersion: z.number().int(), devices: z.array(deviceSummary) }).openapi('DeviceList'),
  {
    userId: 'user_abc123',
    deviceListVersion: 7,
    devices: [
      deviceExample,
      {
        ...deviceExample,
        deviceId: 'old-laptop',
        status: 'revoked',
        deviceName: null,
        signedPreKeyExpiresAt: null,
        revokedAt: '2026-03-09T08:00:00.000Z',
        oneTimePreKeysRemaining: 0,
        pqOneTimePreKeysRemaining: 0,
      },
    ],
  },
);
