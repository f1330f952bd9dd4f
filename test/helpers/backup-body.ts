/** A `/v1/keys/backup` body for a blob, with its checksum computed the way a client computes it. */
import { createHash } from 'node:crypto';

export const encryptionMetadata = {
  algorithm: 'argon2id+aes-256-gcm',
  argon2Params: { timeCost: 3, memoryCost: 65536, parallelism: 4 },
  nonce: 'a1b2c3d4e5f6a1b2c3d4e5f6',
  salt: 'f1e2d3c4b5a6f1e2d3c4b5a6f1e2d3c4',
};

export function backupBody(userId: string, blob: Uint8Array | string, extra: Record<string, unknown> = {}) {
  const bytes = typeof blob === 'string' ? Buffer.from(blob) : Buffer.from(blob);
  return {
    userId,
    encryptedBundle: bytes.toString('base64'),
    encryptionMetadata,
    checksum: createHash('sha256').update(bytes).digest('hex'),
    ...extra,
  };
}
