/**
 * Shapes of `/v1` post-quantum fields: ML-KEM-1024 encapsulation keys and ciphertexts
 * (1,568 bytes) as hex (3,136 characters, like every `/v1` key) or standard base64 (2,092), and
 * always answered as lowercase hex.
 */
import { z } from '@hono/zod-openapi';
import { decodeBase64, encodeHex } from '../../../packages/client/src/core/encoding.ts';
import { mlKem1024CiphertextLength, mlKem1024PublicKeyLength } from '../../../packages/client/src/ml-kem.ts';
import { hex, keyId } from '../schemas.ts';

/** Hex of exactly `length` bytes, or base64 of them; handed on as lowercase hex. */
const hexOrBase64 = (length: number, what: string) => {
  // Hex, the usual spelling, is only pattern-checked (100 keys of 3,136 characters a request); base64 is re-encoded.
  const hexPattern = new RegExp(`^[0-9a-fA-F]{${2 * length}}$`);
  return z
    .string()
    .max(4 * length)
    .transform((text, context) => {
      if (hexPattern.test(text)) return text.toLowerCase();
      const bytes = decodeBase64(text);
      if (bytes?.length === length) return encodeHex(bytes);
      context.addIssue({ code: 'custom', message: `must be ${what}: ${length} bytes as ${2 * length} hex characters or standard base64` });
      return z.NEVER;
    })
    .openapi({ example: '00'.repeat(length), description: `${what}: ${length} bytes, hex (base64 accepted)` });
};

export const mlKemPublicKey = hexOrBase64(mlKem1024PublicKeyLength, 'an ML-KEM-1024 encapsulation key');
export const kemCiphertext = hexOrBase64(mlKem1024CiphertextLength, 'an ML-KEM-1024 ciphertext');

export const pqPreKeySchema = z
  .object({
    keyId,
    publicKey: mlKemPublicKey,
    signature: hex(64).openapi({ description: 'Ed25519 signature by the identity key over 0x0A ‖ publicKey (1,569 bytes)' }),
  })
  .strict()
  .openapi('PqPreKey');

export const pqPreKeyList = z.array(pqPreKeySchema).max(100, 'at most 100 pre-keys per call');

/** What bundles hand out: a one-time ML-KEM pre-key, or the last-resort one (`lastResort: true`, never consumed). */
export const bundlePqPreKeySchema = z
  .object({ keyId: z.string(), publicKey: z.string(), signature: z.string(), lastResort: z.boolean() })
  .openapi('BundlePqPreKey', { description: 'ML-KEM-1024 pre-key for PQXDH; null when the key set has none' });
