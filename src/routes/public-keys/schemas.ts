/** zod schemas of /v1/public-keys: they validate requests and document them in /openapi.json. */
import { z } from '@hono/zod-openapi';
import { keyTypeNames } from '../../crypto/key-types.ts';
import { p256Sample } from '../examples.ts';
import { pageLimit, pageNumber, paginationSchema, userId, withExample } from '../schemas.ts';

/** Seed 002's key: a real P-256 point, so the documented example passes validation. */
const sampleP256 = p256Sample.imported;

export const generatedMessage = 'Key pair generated; the private key is shown only this once';

const keyType = z.enum(keyTypeNames).openapi({
  description: '`ecdsa` = P-256; `ed25519`; `x25519`; `secp256k1`',
  example: 'ecdsa',
});

const name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
  .openapi({ description: 'Unique per owner', example: 'MyApp' });

export const idParam = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -')
    .openapi({ param: { name: 'id', in: 'path' }, example: p256Sample.id }),
});

/** Seed 002's key object, with the creation time prekeyd adds. */
const publicKeyExample = {
  id: p256Sample.id,
  name: 'MyApp',
  publicKey: sampleP256,
  keyType: 'ecdsa',
  ownerId: p256Sample.ownerId,
  createdAt: '2026-03-08T10:00:00.000Z',
};

export const publicKeySchema = withExample(
  z
    .object({
      id: z.string().openapi({ example: p256Sample.id }),
      name: z.string().openapi({ example: 'MyApp' }),
      publicKey: z.string().openapi({ description: 'Lowercase hex in the canonical form of its type', example: sampleP256 }),
      keyType: z.string().openapi({ description: 'One of ecdsa, ed25519, x25519, secp256k1', example: 'ecdsa' }),
      ownerId: z.string().openapi({ example: p256Sample.ownerId }),
      createdAt: z.string().openapi({ example: publicKeyExample.createdAt }),
    })
    .openapi('PublicKey'),
  publicKeyExample,
);

export const listQuery = z.object({
  ownerId: userId.optional().openapi({ example: p256Sample.ownerId }),
  page: pageNumber,
  limit: pageLimit(20),
});

export const listResult = withExample(
  z.object({
    success: z.literal(true),
    data: z.array(publicKeySchema),
    pagination: paginationSchema,
  }),
  { success: true, data: [publicKeyExample], pagination: { page: 1, limit: 20, total: 1, totalPages: 1, hasNextPage: false, hasPrevPage: false } },
);

export const generateBody = z
  .object({ ownerId: userId, name, keyType })
  .openapi('GeneratePublicKeyRequest', { example: { ownerId: p256Sample.ownerId, name: 'MyApp', keyType: 'ecdsa' } });

export const importBody = generateBody
  .extend({
    publicKey: z
      .string()
      .max(1024)
      .regex(/^(?:[0-9a-fA-F]{2})+$/, 'must be hex (an even number of 0-9 a-f characters)')
      .openapi({
        description:
          'Hex, either case. ecdsa/secp256k1: 65-byte uncompressed (04…) or 33-byte compressed (02…/03…), stored uncompressed; ed25519/x25519: 32 bytes, canonical encoding. Checked to be a valid point of its curve (not of small order).',
        example: sampleP256,
      }),
  })
  .openapi('ImportPublicKeyRequest', {
    example: { ownerId: p256Sample.ownerId, name: 'MyApp', keyType: 'ecdsa', publicKey: sampleP256 },
  });

export const generateResult = z
  .object({
    success: z.literal(true),
    message: z.string(),
    result: z.object({
      id: z.string().openapi({ example: p256Sample.id }),
      publicKey: z.string().openapi({ example: p256Sample.generated }),
      privateKey: z.string().openapi({
        description: 'Hex of the 32-byte secret scalar (ed25519: the RFC 8032 seed). Returned only this once; never stored.',
        example: p256Sample.generatedPrivate,
      }),
    }),
    data: publicKeySchema,
  })
  .openapi('GeneratedKeyPair', {
    // Seed 002's answer: `result` as the seed has it; `data` is the stored public key.
    example: {
      success: true,
      message: generatedMessage,
      result: { id: p256Sample.id, publicKey: p256Sample.generated, privateKey: p256Sample.generatedPrivate },
      data: { ...publicKeyExample, publicKey: p256Sample.generated },
    },
  });
