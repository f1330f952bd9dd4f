/**
 * The server's own crypto helpers: the key checks themselves are shared with the SDK
 * (packages/client/src/core/keys.ts); what stays here uses the runtime's native crypto, which a
 * browser SDK cannot count on, for the server's hot paths. The server only ever verifies: it
 * never holds a private key (server-side key generation lives in its own opt-in module).
 */
import { createHash } from 'node:crypto';
import { encodeHex } from '../../packages/client/src/core/encoding.ts';
import { isValidEd25519PublicKey, verifyEd25519Strict } from '../../packages/client/src/core/keys.ts';

let webCryptoEd25519: boolean | undefined;
/**
 * Public keys found valid lately, by hex. The check decodes a point (~0.3 ms in pure JS, about
 * what OpenSSL's whole verification costs) and an upload verifies up to ~200 signatures by one
 * identity key; bounded, oldest forgotten first.
 */
const validKeys = new Set<string>();
const validKeysKept = 1024;

/**
 * The shared rule for an Ed25519 public key (canonical, not of small order), remembered: OpenSSL
 * does not apply it (it takes small-order and non-canonical keys), so `verifyEd25519` does.
 */
export function isValidEd25519PublicKeyCached(publicKey: Uint8Array): boolean {
  const hex = encodeHex(publicKey);
  if (validKeys.has(hex)) return true;
  if (!isValidEd25519PublicKey(publicKey)) return false;
  if (validKeys.size >= validKeysKept) validKeys.delete(validKeys.values().next().value!);
  validKeys.add(hex);
  return true;
}

/**
 * Ed25519 verification; never throws. Uses the runtime's Web Crypto (OpenSSL in Node, ~7x
 * faster than pure JS, and register/rotate verify on every call) and falls back to the shared
 * strict RFC 8032 check where the runtime lacks Ed25519. OpenSSL verifies cofactorless with
 * s < L and a canonical R, as the shared check does, but takes any decodable public key: the
 * shared key rule is applied first, so both answer the same (test/crypto/core.test.ts).
 */
export async function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> {
  if (signature.length !== 64 || !isValidEd25519PublicKeyCached(publicKey)) return false;
  if (webCryptoEd25519 !== false) {
    try {
      const key = await crypto.subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
      webCryptoEd25519 = true;
      return await crypto.subtle.verify('Ed25519', key, signature as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>);
    } catch (error) {
      if (webCryptoEd25519 === true) return false;
      webCryptoEd25519 = error instanceof DOMException && error.name === 'NotSupportedError' ? false : undefined;
      if (webCryptoEd25519 === undefined) return false;
    }
  }
  return verifyEd25519Strict(signature, message, publicKey);
}

/**
 * SHA-256 as hex. The runtime's native hash (node:crypto, also in Deno) rather than pure JS:
 * every request hashes its token and every audit entry its fields, and native is ~3x faster.
 */
export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');
