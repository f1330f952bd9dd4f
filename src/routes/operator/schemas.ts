/** Response shapes of the operator routes (`/v1/whoami`, `/v1/admin/status`, `/v1/admin/users/…`). */
import { z } from '@hono/zod-openapi';
import { withExample } from '../schemas.ts';

const keySetStatus = z.enum(['active', 'revoked', 'expired', 'suspended']);

export const callerDescription = withExample(
  z
    .object({
      kind: z.enum(['master', 'apiKey']),
      uid: z.string().openapi({ description: 'The API key uid, or `master`' }),
      projectId: z.string(),
      acl: z.array(z.string()),
      userIds: z.array(z.string()),
      prefix: z.string().nullable(),
      description: z.string().nullable(),
      expiresAt: z.string().nullable(),
      limits: z
        .object({
          preKeyLowThreshold: z.number().int(),
          rateLimitKeys: z.number().int(),
          rateLimitBundle: z.number().int(),
          drainLimitPerMinute: z.number().int(),
        })
        .openapi({ description: 'Limits on this key’s calls (0: none)' }),
    })
    .openapi('CallerDescription'),
  {
    kind: 'apiKey',
    uid: 'key_VO6UTDBW5S4YJCL17KAXNZ',
    projectId: 'default',
    acl: ['keys.read', 'audit.read'],
    userIds: ['*'],
    prefix: 'pkd_3hF9',
    description: 'support desk',
    expiresAt: null,
    limits: { preKeyLowThreshold: 5, rateLimitKeys: 200, rateLimitBundle: 100, drainLimitPerMinute: 30 },
  },
);

const minute = z.object({ minute: z.string(), requests: z.number().int(), clientErrors: z.number().int(), serverErrors: z.number().int() });
const limitUse = z.object({ limit: z.number().int(), used: z.number().int() });

export const serverStatus = withExample(
  z
    .object({
      version: z.string(),
      startedAt: z.string(),
      uptimeSeconds: z.number().int(),
      storage: z.object({
        backend: z.enum(['sqljs', 'postgres']),
        bytes: z.number().int().nullable().openapi({ description: 'On-disk size of the embedded database; null on PostgreSQL' }),
        ready: z.boolean(),
      }),
      pushConnections: z.number().int().nullable(),
      traffic: z.array(minute).openapi({ description: 'The last 30 minutes of this instance, oldest first' }),
      keySets: z.record(z.string(), z.number().int()).openapi({ description: 'Key sets of every project by status' }),
      oneTimePreKeysStored: z.number().int(),
      limits: z.object({
        preKeyLowThreshold: z.number().int(),
        maxStoredPreKeysPerKeySet: z.number().int(),
        drainLimitPerMinute: z.number().int(),
        signedPreKeyMaxAgeMs: z.number().int(),
      }),
      rateLimitUse: z.object({ limited: z.boolean(), keys: limitUse, bundle: limitUse }),
    })
    .openapi('ServerStatus'),
  {
    version: '0.1.0',
    startedAt: '2026-03-08T09:00:00.000Z',
    uptimeSeconds: 3600,
    storage: { backend: 'sqljs', bytes: 1_048_576, ready: true },
    pushConnections: 12,
    traffic: [{ minute: '2026-03-08T10:00:00.000Z', requests: 120, clientErrors: 3, serverErrors: 0 }],
    keySets: { active: 40, suspended: 1, revoked: 2, expired: 0 },
    oneTimePreKeysStored: 2000,
    limits: { preKeyLowThreshold: 5, maxStoredPreKeysPerKeySet: 1000, drainLimitPerMinute: 30, signedPreKeyMaxAgeMs: 2_592_000_000 },
    rateLimitUse: { limited: true, keys: { limit: 200, used: 17 }, bundle: { limit: 100, used: 4 } },
  },
);

const rotation = z.object({ signedPreKeyId: z.string(), createdAt: z.string(), replacedAt: z.string() });

const deviceExample = {
  deviceId: 'device_xyz',
  deviceName: 'iPhone 15',
  keyFormat: 'v1',
  status: 'active',
  statusReason: null,
  identityKeyFingerprint: 'a1b2c3d4e5f60718',
  oneTimePreKeysRemaining: 15,
  hasLastResortPreKey: true,
  signedPreKeyId: 'spk_002',
  signedPreKeyCreatedAt: '2026-03-08T12:00:00.000Z',
  registeredAt: '2026-03-08T10:00:00.000Z',
  lastRotatedAt: '2026-03-08T12:00:00.000Z',
  revokedAt: null,
  rotationCount: 1,
} as const;
const rotationExample = { signedPreKeyId: 'spk_001', createdAt: '2026-03-08T10:00:00.000Z', replacedAt: '2026-03-08T12:00:00.000Z' };

export const userKeySets = withExample(
  z
    .object({
      userId: z.string(),
      preKeyLowThreshold: z.number().int(),
      maxStoredPreKeys: z.number().int(),
      devices: z.array(
        z.object({
          deviceId: z.string(),
          deviceName: z.string().nullable(),
          keyFormat: z.enum(['v1', 'signal']),
          status: keySetStatus,
          statusReason: z.string().nullable(),
          identityKeyFingerprint: z.string(),
          oneTimePreKeysRemaining: z.number().int(),
          hasLastResortPreKey: z.boolean(),
          signedPreKeyId: z.string(),
          signedPreKeyCreatedAt: z.string(),
          registeredAt: z.string(),
          lastRotatedAt: z.string().nullable(),
          revokedAt: z.string().nullable(),
          rotationCount: z.number().int().openapi({ description: 'Replaced signed pre-keys still kept in history (see --signed-prekey-history)' }),
          rotations: z.array(rotation).openapi({ description: 'Replaced signed pre-keys, newest first (the latest 50)' }),
        }),
      ),
    })
    .openapi('UserKeySets'),
  { userId: 'user_abc123', preKeyLowThreshold: 5, maxStoredPreKeys: 1000, devices: [{ ...deviceExample, rotations: [rotationExample] }] },
);
