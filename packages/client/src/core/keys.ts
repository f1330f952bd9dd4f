/**
 * The key checks of prekeyd, shared by the server (which checks what clients publish) and the
 * SDK (which checks what the server serves), so that both accept exactly the same keys and
 * signatures. Every check answers a boolean and never throws.
 *
 * @example
 * isValidEd25519PublicKey(identityKey) && verifyEd25519Strict(signature, preKey, identityKey)
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, equalBytes } from '@noble/curves/utils.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { encodeHex } from './encoding.ts';

/** The key types of the public-key directory (seed 002). */
export const publicKeyTypeNames = ['ecdsa', 'ed25519', 'x25519', 'secp256k1'] as const;
export type PublicKeyTypeName = (typeof publicKeyTypeNames)[number];

const { Point } = ed25519;

/** The point of a canonical (RFC 8032, y < p) Ed25519 encoding that is not of small order, else undefined. */
function ed25519PublicPoint(bytes: Uint8Array): InstanceType<typeof Point> | undefined {
  if (bytes.length !== 32) return undefined;
  try {
    const point = Point.fromBytes(bytes);
    return point.isSmallOrder() ? undefined : point;
  } catch {
    return undefined;
  }
}

/** True when the 32 bytes are a canonical (RFC 8032, y < p) Ed25519 point that is not of small order. */
export const isValidEd25519PublicKey = (bytes: Uint8Array): boolean => ed25519PublicPoint(bytes) !== undefined;

/**
 * Ed25519 verification as RFC 8032 §5.1.7 states it and OpenSSL (so the runtime's Web Crypto)
 * does it: a public key accepted by `isValidEd25519PublicKey`, s < L, and the cofactorless
 * equation, [s]B − [h]A encoding to exactly the signature's R (so a non-canonical R never
 * matches). noble's own `verify` is cofactored and would accept signatures OpenSSL refuses;
 * the server's Web Crypto fast path (src/crypto/keys.ts) must answer exactly as this does,
 * which test/crypto/core.test.ts checks. False for wrong lengths; never throws.
 */
export function verifyEd25519Strict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const publicPoint = ed25519PublicPoint(publicKey);
  if (!publicPoint) return false;
  const encodedR = signature.subarray(0, 32);
  const s = bytesToNumberLE(signature.subarray(32));
  if (s >= Point.Fn.ORDER) return false;
  const h = Point.Fn.create(bytesToNumberLE(sha512.create().update(encodedR).update(publicKey).update(message).digest()));
  try {
    return equalBytes(Point.BASE.multiplyUnsafe(s).subtract(publicPoint.multiplyUnsafe(h)).toBytes(), encodedR);
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

/** True when the 32 bytes spell u < 2^255−19 with the top bit clear: the one canonical RFC 7748 encoding. */
export function isCanonicalX25519Encoding(bytes: Uint8Array): boolean {
  let u = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) u = (u << 8n) | BigInt(bytes[i]!);
  return bytes.length === 32 && u < p;
}

/** First 16 hex characters of SHA-256 of the identity key bytes (SPEC §3). */
export const fingerprint = (identityKey: Uint8Array): string => encodeHex(sha256(identityKey)).slice(0, 16);
