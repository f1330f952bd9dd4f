/**
 * Checks of the public keys clients publish. The server only ever verifies: it never
 * holds a private key (server-side key generation lives in its own opt-in module).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { createHash } from 'node:crypto';

/** True when the 32 bytes decode to an Ed25519 point that is not of small order. */
export function isValidEd25519PublicKey(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  try {
    return !ed25519.Point.fromBytes(bytes).isSmallOrder();
  } catch {
    return false;
  }
}

let webCryptoEd25519: boolean | undefined;

/**
 * Ed25519 verification; never throws. Uses the runtime's Web Crypto (OpenSSL in Node, ~7x
 * faster than pure JS, and register/rotate verify on every call) and falls back to
 * `@noble/curves` in strict RFC 8032 mode where the runtime lacks Ed25519.
 */
export async function verifyEd25519(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): Promise<boolean> {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
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
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

const p = 2n ** 255n - 19n;
/**
 * u-coordinates of the points of order 1, 2, 4 and 8 on Curve25519 and their non-canonical
 * encodings (libsodium's blocklist): a DH with any of them yields a predictable output.
 * Kept as 32-byte little-endian encodings, so a check is a few byte comparisons (registrations
 * check up to 100 keys each).
 */
const lowOrderEncodings = [
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  p - 1n,
  p,
  p + 1n,
].map((u) => Uint8Array.from({ length: 32 }, (_, i) => Number((u >> BigInt(8 * i)) & 0xffn)));

/** True for a 32-byte X25519 public key that is not a low-order point. */
export function isValidX25519PublicKey(bytes: Uint8Array): boolean {
  if (bytes.length !== 32) return false;
  return !lowOrderEncodings.some((encoding) => {
    for (let i = 0; i < 31; i++) if (bytes[i] !== encoding[i]) return false;
    // RFC 7748 §5: the most significant bit is ignored when decoding u.
    return (bytes[31]! & 0x7f) === encoding[31];
  });
}

/** First 16 hex characters of SHA-256 of the identity key bytes (SPEC §3). */
export const fingerprint = (identityKey: Uint8Array): string => sha256Hex(identityKey).slice(0, 16);

/**
 * SHA-256 as hex. The runtime's native hash (node:crypto, also in Deno) rather than pure JS:
 * every request hashes its token and every audit entry its fields, and native is ~3x faster.
 */
export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');
