/** Shapes of POST /v1/keys/backup and /v1/keys/recover, as seed 004 gives them. */
import { z } from '@hono/zod-openapi';
import { backupSample } from '../examples.ts';
import { hex, userId, withExample } from '../schemas.ts';

/** Even-length hex of 1-64 bytes, stored lowercase (nonces and salts vary in length by cipher). */
const hexBytes = (example: string) =>
  z
    .string()
    .regex(/^(?:[0-9a-fA-F]{2}){1,64}$/, 'must be 2-128 hex characters (whole bytes)')
    .transform((value) => value.toLowerCase())
    .openapi({ example });

const positiveInt = (max: number, example: number) => z.number().int().min(1).max(max).openapi({ example });

export const encryptionMetadataSchema = z
  .object({
    algorithm: z
      .string()
      .regex(/^[A-Za-z0-9+._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 + . _ -')
      .openapi({ example: 'argon2id+aes-256-gcm' }),
    argon2Params: z
      .object({
        timeCost: positiveInt(2 ** 32 - 1, 3),
        memoryCost: positiveInt(2 ** 32 - 1, 65536),
        // Argon2 (RFC 9106 §3.1) allows 1 to 2^24-1 lanes.
        parallelism: positiveInt(2 ** 24 - 1, 4),
      })
      .strict(),
    nonce: hexBytes(backupSample.encryptionMetadata.nonce),
    salt: hexBytes(backupSample.encryptionMetadata.salt),
  })
  .strict()
  .openapi('BackupEncryptionMetadata', { example: backupSample.encryptionMetadata });

export const backupBody = z
  .object({
    userId,
    encryptedBundle: z
      .string()
      .min(1)
      // The length rules of padding are checked when the domain decodes it.
      .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be standard base64')
      .openapi({ example: backupSample.encryptedBundle }),
    encryptionMetadata: encryptionMetadataSchema,
    checksum: hex(32, backupSample.checksum),
    expectedVersion: z.number().int().min(0).optional().openapi({ description: 'The current version (0 when none); 409 otherwise' }),
  })
  .strict()
  .openapi('BackupRequest', {
    example: {
      userId: 'user_abc123',
      encryptedBundle: backupSample.encryptedBundle,
      encryptionMetadata: backupSample.encryptionMetadata,
      checksum: backupSample.checksum,
    },
  });

export const backupResult = withExample(z.object({ version: z.number().int(), storedAt: z.string() }).openapi('BackupStored'), {
  version: 1,
  storedAt: '2026-03-08T10:30:00.000Z',
});

export const recoverBody = z
  .object({ userId, version: z.number().int().min(1).optional().openapi({ description: 'A stored version; the latest when absent' }) })
  .strict()
  .openapi('RecoverRequest', { example: { userId: 'user_abc123' } });

export const recoverResult = withExample(
  z
    .object({
      encryptedBundle: z.string(),
      encryptionMetadata: encryptionMetadataSchema,
      checksum: z.string(),
      version: z.number().int(),
      backedUpAt: z.string(),
    })
    .openapi('RecoveredBackup'),
  { ...backupSample, version: 1, backedUpAt: '2026-03-08T10:30:00.000Z' },
);
