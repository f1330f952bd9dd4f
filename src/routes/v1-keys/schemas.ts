/** Request and response shapes of `/v1/keys/*`, as seed 004 gives them. */
import { z } from '@hono/zod-openapi';
import { deviceId, hex, keyId, pageLimit, pageNumber, paginationSchema, userId } from '../schemas.ts';

export const preKeySchema = z.object({ keyId, publicKey: hex(32) }).strict().openapi('PreKey');

export const signedPreKeySchema = z
  .object({ keyId: keyId.openapi({ example: 'spk_a1b2c3d4e5f6g7h8' }), publicKey: hex(32), signature: hex(64) })
  .strict()
  .openapi('SignedPreKey');

const preKeyList = (min: number) =>
  z.array(preKeySchema).min(min, `at least ${min} pre-key(s)`).max(100, 'at most 100 pre-keys per call');

export const registerBody = z
  .object({
    userId,
    identityKey: hex(32),
    signedPreKey: signedPreKeySchema,
    oneTimePreKeys: preKeyList(1),
    lastResortPreKey: signedPreKeySchema.optional(),
    deviceId: deviceId.optional(),
    deviceName: z.string().min(1).max(128).optional().openapi({ example: 'iPhone 15' }),
  })
  .strict()
  .openapi('RegisterKeysRequest');

export const registerResult = z.object({
  userId: z.string(),
  deviceId: z.string(),
  identityKeyFingerprint: z.string(),
  signedPreKeyId: z.string(),
  oneTimePreKeysCount: z.number().int(),
  status: z.literal('active'),
  registeredAt: z.string(),
});

export const bundleQuery = z.object({ deviceId: deviceId.optional() });
export const userParam = z.object({ userId: userId.openapi({ param: { name: 'userId', in: 'path' } }) });

export const bundleResult = z
  .object({
    userId: z.string(),
    deviceId: z.string(),
    identityKey: z.string(),
    signedPreKey: signedPreKeySchema,
    oneTimePreKey: preKeySchema.nullable(),
    lastResortPreKey: signedPreKeySchema.optional(),
    remainingOneTimePreKeys: z.number().int(),
    warning: z.string().optional(),
  })
  .openapi('KeyBundle');

export const rotateBody = z
  .object({
    userId,
    deviceId: deviceId.optional(),
    newSignedPreKey: signedPreKeySchema.optional(),
    newOneTimePreKeys: preKeyList(0).optional(),
    newLastResortPreKey: signedPreKeySchema.optional(),
  })
  .strict()
  .openapi('RotateKeysRequest');

export const rotateResult = z.object({
  signedPreKeyRotated: z.boolean(),
  newSignedPreKeyId: z.string().nullable(),
  oneTimePreKeysAdded: z.number().int(),
  totalOneTimePreKeysAvailable: z.number().int(),
  rotatedAt: z.string(),
});

export const statusChangeBody = z
  .object({ userId, deviceId: deviceId.optional(), reason: z.string().max(500).optional().openapi({ example: 'Device compromised' }) })
  .strict();

export const revokeResult = z.object({
  userId: z.string(),
  status: z.literal('revoked'),
  revokedAt: z.string(),
  reason: z.string().nullable(),
  deviceIds: z.array(z.string()),
});

export const suspensionResult = z.object({
  userId: z.string(),
  status: z.enum(['suspended', 'active']),
  deviceIds: z.array(z.string()),
  changedAt: z.string(),
});

const status = z.enum(['active', 'revoked', 'expired', 'suspended']);

export const keySetSummary = z
  .object({
    userId: z.string(),
    deviceId: z.string(),
    identityKeyFingerprint: z.string(),
    status,
    oneTimePreKeysRemaining: z.number().int(),
    registeredAt: z.string(),
    lastRotatedAt: z.string().nullable(),
    deviceName: z.string().nullable(),
  })
  .openapi('KeySetSummary');

export const verifyResult = keySetSummary.extend({ isValid: z.boolean() }).openapi('KeyVerification');

export const listQuery = z.object({
  status: status.optional(),
  page: pageNumber,
  limit: pageLimit(20),
  sortBy: z.enum(['createdAt', 'registeredAt', 'lastRotatedAt', 'userId', 'oneTimePreKeysRemaining']).default('createdAt'),
  sortOrder: z.enum(['asc', 'desc']).default('desc'),
});

export const listResult = z.object({
  success: z.literal(true),
  data: z.array(keySetSummary),
  pagination: paginationSchema,
});
