/** zod schemas of /v1/public-keys: they validate requests and document them in /openapi.json. */
import { z } from '@hono/zod-openapi';
import { keyTypeNames } from '../../crypto/key-types.ts';
import { pageLimit, pageNumber, paginationSchema, userId } from '../schemas.ts';

/** A real P-256 point, so the documented example passes validation. */
const sampleP256 =
  '04aaa9c24ac5adc99b8de99efcf0f14f75c82b591723327e45d0f1a6579338ac57d83db1d9d7bda4bf8900a494bd5a8d841b9b4f4fce9dff31745b81c34eaa238a';

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
    .openapi({ param: { name: 'id', in: 'path' }, example: '5f7b5f7b5f7b5f7b5f7b5f7b' }),
});

export const publicKeySchema = z
  .object({
    id: z.string().openapi({ example: '5f7b5f7b5f7b5f7b5f7b5f7b' }),
    name: z.string().openapi({ example: 'MyApp' }),
    publicKey: z.string().openapi({ description: 'Lowercase hex in the canonical form of its type', example: sampleP256 }),
    keyType: z.string().openapi({ description: 'One of ecdsa, ed25519, x25519, secp256k1', example: 'ecdsa' }),
    ownerId: z.string().openapi({ example: 'user_abc123' }),
    createdAt: z.string().openapi({ example: '2025-01-01T00:00:00.000Z' }),
  })
  .openapi('PublicKey');

export const listQuery = z.object({
  ownerId: userId.optional(),
  page: pageNumber,
  limit: pageLimit(20),
});

export const listResult = z.object({
  success: z.literal(true),
  data: z.array(publicKeySchema),
  pagination: paginationSchema,
});

export const generateBody = z
  .object({ ownerId: userId, name, keyType })
  .openapi('GeneratePublicKeyRequest');

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
  .openapi('ImportPublicKeyRequest');

export const generateResult = z
  .object({
    success: z.literal(true),
    message: z.string(),
    result: z.object({
      id: z.string().openapi({ example: '5f7b5f7b5f7b5f7b5f7b5f7b' }),
      publicKey: z.string().openapi({ example: sampleP256 }),
      privateKey: z.string().openapi({
        description: 'Hex of the 32-byte secret scalar (ed25519: the RFC 8032 seed). Returned only this once; never stored.',
        example: '6dab5e2ab44552f26d716dfe4a4d9815abaaa45beb68a1dc0106780cc1c2b3a4',
      }),
    }),
    data: publicKeySchema,
  })
  .openapi('GeneratedKeyPair');
