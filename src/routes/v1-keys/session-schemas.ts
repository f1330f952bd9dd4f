/** Shapes of /v1/keys/shared-secret: the seed's initiation, SPEC §3's session view. */
import { z } from '@hono/zod-openapi';
import { v1Keys } from '../examples.ts';
import { deviceId, hex, userId, withExample } from '../schemas.ts';
import { bundlePqPreKeySchema, kemCiphertext } from './pq-schemas.ts';
import { preKeySchema, signedPreKeySchema } from './schemas.ts';
import { transparencyProofSchema } from '../transparency/schemas.ts';

export const sharedSecretBody = z
  .object({
    initiatorUserId: userId.openapi({ example: 'user_alice' }),
    responderUserId: userId.openapi({ example: 'user_bob' }),
    initiatorEphemeralKey: hex(32, v1Keys.initiatorEphemeralKey),
    initiatorIdentityKey: hex(32, v1Keys.initiatorIdentityKey)
      .optional()
      .openapi({ description: "Must equal the initiator's registered identity key when given" }),
    responderDeviceId: deviceId.optional(),
    postQuantum: z.boolean().optional().openapi({
      description: "PQXDH: also hand out the responder's ML-KEM pre-key; send the ciphertext to …/kem-ciphertext, then the responder is told",
    }),
    requirePostQuantum: z.boolean().optional().openapi({
      description: 'With postQuantum: refuse (409, details field requirePostQuantum; nothing consumed) a responder without ML-KEM pre-keys',
    }),
  })
  .strict()
  .openapi('SharedSecretRequest', {
    example: { initiatorUserId: 'user_alice', responderUserId: 'user_bob', initiatorEphemeralKey: v1Keys.initiatorEphemeralKey },
  });

export const sharedSecretResult = withExample(
  z
    .object({
      sessionId: z.string().openapi({ example: v1Keys.sessionId }),
      responderBundle: z.object({
        identityKey: z.string(),
        signedPreKey: signedPreKeySchema,
        oneTimePreKey: preKeySchema.nullable(),
        lastResortPreKey: signedPreKeySchema.optional(),
        pqPreKey: bundlePqPreKeySchema.nullable().optional().openapi({ description: 'With postQuantum: true only' }),
        warning: z.string().optional(),
        transparency: transparencyProofSchema.optional(),
      }),
      remainingPqOneTimePreKeys: z.number().int().optional(),
      expiresAt: z.string(),
    })
    .openapi('SharedSecretSession'),
  {
    sessionId: v1Keys.sessionId,
    responderBundle: {
      identityKey: v1Keys.identityKey,
      signedPreKey: { ...v1Keys.signedPreKey, keyId: 'spk_001' },
      oneTimePreKey: { keyId: 'opk_003', publicKey: v1Keys.oneTimePreKeys.opk_003 },
    },
    expiresAt: '2026-03-09T10:00:00.000Z',
  },
);

export const sessionParam = z.object({
  sessionId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
    .openapi({ param: { name: 'sessionId', in: 'path' }, example: v1Keys.sessionId }),
});

const sessionExample = {
  sessionId: v1Keys.sessionId,
  initiatorUserId: 'user_alice',
  responderUserId: 'user_bob',
  initiatorIdentityKey: v1Keys.initiatorIdentityKey,
  initiatorEphemeralKey: v1Keys.initiatorEphemeralKey,
  signedPreKeyId: 'spk_001',
  oneTimePreKeyId: 'opk_003',
  lastResortPreKeyId: null,
  pqPreKeyId: null,
  pqPreKeyLastResort: false,
  kemCiphertext: null,
  status: 'pending',
  createdAt: '2026-03-08T10:00:00.000Z',
  expiresAt: '2026-03-09T10:00:00.000Z',
} as const;

export const sessionView = withExample(
  z
    .object({
      sessionId: z.string(),
      initiatorUserId: z.string(),
      responderUserId: z.string(),
      initiatorIdentityKey: z.string(),
      initiatorEphemeralKey: z.string(),
      signedPreKeyId: z.string(),
      oneTimePreKeyId: z.string().nullable(),
      lastResortPreKeyId: z
        .string()
        .nullable()
        .openapi({ description: 'The last-resort pre-key handed out instead of a one-time pre-key (the DH4 key), else null' }),
      pqPreKeyId: z.string().nullable().openapi({ description: 'PQXDH: the ML-KEM pre-key handed out, else null' }),
      pqPreKeyLastResort: z.boolean().openapi({ description: 'Whether pqPreKeyId is the last-resort ML-KEM pre-key' }),
      kemCiphertext: z.string().nullable().openapi({ description: "PQXDH: the initiator's ML-KEM-1024 ciphertext, hex; null until sent" }),
      status: z.enum(['pending', 'completed']),
      createdAt: z.string(),
      expiresAt: z.string(),
    })
    .openapi('Session'),
  sessionExample,
);

export const completedSession = withExample(sessionView.extend({ completedAt: z.string().nullable() }).openapi('CompletedSession'), {
  ...sessionExample,
  status: 'completed',
  completedAt: '2026-03-08T10:05:00.000Z',
});

export const kemCiphertextBody = z
  .object({ kemCiphertext })
  .strict()
  .openapi('KemCiphertextRequest', { example: { kemCiphertext: 'c7'.repeat(1568) } });
