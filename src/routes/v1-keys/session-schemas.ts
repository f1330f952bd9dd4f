/** Shapes of /v1/keys/shared-secret: the seed's initiation, SPEC §3's session view. */
import { z } from '@hono/zod-openapi';
import { deviceId, hex, userId } from '../schemas.ts';
import { preKeySchema, signedPreKeySchema } from './schemas.ts';

export const sharedSecretBody = z
  .object({
    initiatorUserId: userId.openapi({ example: 'user_alice' }),
    responderUserId: userId.openapi({ example: 'user_bob' }),
    initiatorEphemeralKey: hex(32),
    initiatorIdentityKey: hex(32).optional().openapi({ description: "Must equal the initiator's registered identity key when given" }),
    responderDeviceId: deviceId.optional(),
  })
  .strict()
  .openapi('SharedSecretRequest');

export const sharedSecretResult = z
  .object({
    sessionId: z.string().openapi({ example: 'sess_a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4' }),
    responderBundle: z.object({
      identityKey: z.string(),
      signedPreKey: signedPreKeySchema,
      oneTimePreKey: preKeySchema.nullable(),
      lastResortPreKey: signedPreKeySchema.optional(),
      warning: z.string().optional(),
    }),
    expiresAt: z.string(),
  })
  .openapi('SharedSecretSession');

export const sessionParam = z.object({
  sessionId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
    .openapi({ param: { name: 'sessionId', in: 'path' }, example: 'sess_a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4' }),
});

export const sessionView = z
  .object({
    sessionId: z.string(),
    initiatorUserId: z.string(),
    responderUserId: z.string(),
    initiatorIdentityKey: z.string(),
    initiatorEphemeralKey: z.string(),
    signedPreKeyId: z.string(),
    oneTimePreKeyId: z.string().nullable(),
    status: z.enum(['pending', 'completed']),
    createdAt: z.string(),
    expiresAt: z.string(),
  })
  .openapi('Session');

export const completedSession = sessionView.extend({ completedAt: z.string().nullable() }).openapi('CompletedSession');
