/** Request and response shapes of `/v1/keys/*`, as seed 004 gives them. */
import { z } from '@hono/zod-openapi';
import { v1Keys } from '../examples.ts';
import { deviceId, hex, keyId, pageLimit, pageNumber, paginationSchema, userId, withExample } from '../schemas.ts';
import { transparencyProofSchema } from '../transparency/schemas.ts';
import { bundlePqPreKeySchema, pqPreKeyList, pqPreKeySchema } from './pq-schemas.ts';

const { signedPreKey, rotatedSignedPreKey, oneTimePreKeys } = v1Keys;

export const preKeySchema = z
  .object({ keyId, publicKey: hex(32, oneTimePreKeys.opk_001) })
  .strict()
  .openapi('PreKey');

export const signedPreKeySchema = z
  .object({
    keyId: keyId.openapi({ example: signedPreKey.keyId }),
    publicKey: hex(32, signedPreKey.publicKey),
    signature: hex(64, signedPreKey.signature),
  })
  .strict()
  .openapi('SignedPreKey');

const preKeyList = (min: number) => z.array(preKeySchema).min(min, `at least ${min} pre-key(s)`).max(100, 'at most 100 pre-keys per call');

export const registerBody = z
  .object({
    userId,
    identityKey: hex(32, v1Keys.identityKey),
    signedPreKey: signedPreKeySchema,
    oneTimePreKeys: preKeyList(1),
    lastResortPreKey: signedPreKeySchema.optional(),
    pqOneTimePreKeys: pqPreKeyList.optional(),
    pqLastResortPreKey: pqPreKeySchema.optional(),
    deviceId: deviceId.optional(),
    deviceName: z.string().min(1).max(128).optional().openapi({ example: 'iPhone 15' }),
  })
  .strict()
  .openapi('RegisterKeysRequest', {
    example: {
      userId: 'user_abc123',
      identityKey: v1Keys.identityKey,
      signedPreKey,
      oneTimePreKeys: [
        { keyId: 'opk_001', publicKey: oneTimePreKeys.opk_001 },
        { keyId: 'opk_002', publicKey: oneTimePreKeys.opk_002 },
      ],
      deviceId: 'device_xyz',
      deviceName: 'iPhone 15',
    },
  });

export const registerResult = withExample(
  z.object({
    userId: z.string(),
    deviceId: z.string(),
    identityKeyFingerprint: z.string(),
    signedPreKeyId: z.string(),
    oneTimePreKeysCount: z.number().int(),
    pqOneTimePreKeysCount: z.number().int(),
    status: z.literal('active'),
    registeredAt: z.string(),
  }),
  {
    userId: 'user_abc123',
    deviceId: 'device_xyz',
    identityKeyFingerprint: v1Keys.identityKeyFingerprint,
    signedPreKeyId: signedPreKey.keyId,
    oneTimePreKeysCount: 2,
    pqOneTimePreKeysCount: 0,
    status: 'active',
    registeredAt: '2026-03-08T10:00:00.000Z',
  },
);

export const bundleQuery = z.object({ deviceId: deviceId.optional() });
export const userParam = z.object({ userId: userId.openapi({ param: { name: 'userId', in: 'path' } }) });

export const bundleResult = withExample(
  z
    .object({
      userId: z.string(),
      deviceId: z.string(),
      identityKey: z.string(),
      signedPreKey: signedPreKeySchema,
      oneTimePreKey: preKeySchema.nullable(),
      lastResortPreKey: signedPreKeySchema.optional(),
      pqPreKey: bundlePqPreKeySchema.nullable(),
      remainingOneTimePreKeys: z.number().int(),
      remainingPqOneTimePreKeys: z.number().int(),
      warning: z.string().optional(),
      transparency: transparencyProofSchema.optional().openapi({ description: 'With --transparency: proof that the log published these keys' }),
    })
    .openapi('KeyBundle'),
  {
    userId: 'user_abc123',
    deviceId: 'device_xyz',
    identityKey: v1Keys.identityKey,
    signedPreKey,
    oneTimePreKey: { keyId: 'opk_001', publicKey: oneTimePreKeys.opk_001 },
    pqPreKey: null,
    remainingOneTimePreKeys: 1,
    remainingPqOneTimePreKeys: 0,
  },
);

export const rotateBody = z
  .object({
    userId,
    deviceId: deviceId.optional(),
    newSignedPreKey: signedPreKeySchema.optional(),
    newOneTimePreKeys: preKeyList(0).optional(),
    newLastResortPreKey: signedPreKeySchema.optional(),
    newPqOneTimePreKeys: pqPreKeyList.optional(),
    newPqLastResortPreKey: pqPreKeySchema.optional(),
  })
  .strict()
  .openapi('RotateKeysRequest', {
    example: {
      userId: 'user_abc123',
      newSignedPreKey: rotatedSignedPreKey,
      newOneTimePreKeys: [{ keyId: 'opk_050', publicKey: oneTimePreKeys.opk_050 }],
    },
  });

export const rotateResult = withExample(
  z.object({
    signedPreKeyRotated: z.boolean(),
    newSignedPreKeyId: z.string().nullable(),
    oneTimePreKeysAdded: z.number().int(),
    totalOneTimePreKeysAvailable: z.number().int(),
    pqOneTimePreKeysAdded: z.number().int(),
    totalPqOneTimePreKeysAvailable: z.number().int(),
    rotatedAt: z.string(),
  }),
  {
    signedPreKeyRotated: true,
    newSignedPreKeyId: rotatedSignedPreKey.keyId,
    oneTimePreKeysAdded: 1,
    totalOneTimePreKeysAvailable: 16,
    pqOneTimePreKeysAdded: 0,
    totalPqOneTimePreKeysAvailable: 0,
    rotatedAt: '2026-03-08T12:00:00.000Z',
  },
);

export const statusChangeBody = z
  .object({ userId, deviceId: deviceId.optional(), reason: z.string().max(500).optional().openapi({ example: 'Device compromised' }) })
  .strict();

export const revokeBody = statusChangeBody.openapi('RevokeKeysRequest', {
  example: { userId: 'user_abc123', reason: 'Device compromised' },
});

export const suspendBody = statusChangeBody.openapi('SuspendKeysRequest', {
  example: { userId: 'user_abc123', deviceId: 'device_xyz', reason: 'Suspicious activity under investigation' },
});

export const unsuspendBody = statusChangeBody
  .omit({ reason: true })
  .openapi('UnsuspendKeysRequest', { example: { userId: 'user_abc123', deviceId: 'device_xyz' } });

export const revokeResult = withExample(
  z.object({
    userId: z.string(),
    status: z.literal('revoked'),
    revokedAt: z.string(),
    reason: z.string().nullable(),
    deviceIds: z.array(z.string()),
  }),
  {
    userId: 'user_abc123',
    status: 'revoked',
    revokedAt: '2026-03-08T14:00:00.000Z',
    reason: 'Device compromised',
    deviceIds: ['device_xyz'],
  },
);

export const suspensionResult = z.object({
  userId: z.string(),
  status: z.enum(['suspended', 'active']),
  deviceIds: z.array(z.string()),
  changedAt: z.string(),
});

export const suspendedExample = {
  userId: 'user_abc123',
  status: 'suspended',
  deviceIds: ['device_xyz'],
  changedAt: '2026-03-08T13:00:00.000Z',
} as const satisfies z.input<typeof suspensionResult>;

export const unsuspendedExample = { ...suspendedExample, status: 'active', changedAt: '2026-03-08T13:30:00.000Z' } as const;

const status = z.enum(['active', 'revoked', 'expired', 'suspended']);

const keySetSummaryExample = {
  userId: 'user_abc123',
  deviceId: 'device_xyz',
  identityKeyFingerprint: v1Keys.identityKeyFingerprint,
  status: 'active',
  oneTimePreKeysRemaining: 15,
  pqOneTimePreKeysRemaining: 0,
  pqLastResortPreKeyAvailable: false,
  registeredAt: '2026-03-08T10:00:00.000Z',
  lastRotatedAt: '2026-03-08T12:00:00.000Z',
  deviceName: 'iPhone 15',
} as const;

export const keySetSummary = z
  .object({
    userId: z.string(),
    deviceId: z.string(),
    identityKeyFingerprint: z.string(),
    status,
    oneTimePreKeysRemaining: z.number().int(),
    pqOneTimePreKeysRemaining: z.number().int(),
    pqLastResortPreKeyAvailable: z.boolean(),
    registeredAt: z.string(),
    lastRotatedAt: z.string().nullable(),
    deviceName: z.string().nullable(),
  })
  .openapi('KeySetSummary', { example: keySetSummaryExample });

export const verifyResult = withExample(
  keySetSummary.extend({ isValid: z.boolean(), transparency: transparencyProofSchema.optional() }).openapi('KeyVerification'),
  { ...keySetSummaryExample, isValid: true },
);

export const listQuery = z.object({
  status: status.optional().openapi({ example: 'active' }),
  userIdPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._:@+-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ : @ + -')
    .optional()
    .openapi({ description: 'Only users whose id starts with this (case-sensitive)', example: 'user_' }),
  page: pageNumber,
  limit: pageLimit(20),
  sortBy: z.enum(['createdAt', 'registeredAt', 'lastRotatedAt', 'userId', 'oneTimePreKeysRemaining']).default('createdAt'),
  sortOrder: z.enum(['asc', 'desc']).default('desc'),
});

export const listResult = withExample(
  z.object({
    success: z.literal(true),
    data: z.array(keySetSummary),
    pagination: paginationSchema,
  }),
  {
    success: true,
    data: [keySetSummaryExample],
    pagination: { page: 1, limit: 20, total: 45, totalPages: 3, hasNextPage: true, hasPrevPage: false },
  },
);
