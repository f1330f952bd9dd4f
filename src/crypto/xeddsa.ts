/**
 * XEdDSA verification: Signal signs pre-keys with its Curve25519 identity key
 * (https://signal.org/docs/specifications/xeddsa/). We verify exactly as libsignal's
 * `PublicKey::verify_signature` does, with `@noble/curves` primitives:
 *
 * 1. the Montgomery u of the identity key becomes the Edwards y = (u − 1) / (u + 1);
 * 2. the sign of x is the top bit of the signature's last byte, which is then cleared;
 * 3. Ed25519 verification, cofactorless: [s]B − [h]A must encode to exactly the signature's R.
 *
 * @example
 * verifyXEdDSA(identityKeyU, serializedPreKey, signature) // true or false, never throws
 * const verify = xeddsaVerifier(identityKeyU); verify(key1, sig1) && verify(key2, sig2)
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, equalBytes, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';

const { Point } = ed25519;
const { Fp, Fn } = Point;

/** The Edwards public key of a Curve25519 key whose x has the given sign; undefined if none exists. */
function edwardsKeyOf(montgomeryU: Uint8Array, sign: number): InstanceType<typeof Point> | undefined {
  // RFC 7748: bit 255 is ignored and u is taken modulo p (libsignal's FieldElement::from_bytes).
  const u = Fp.create(bytesToNumberLE(montgomeryU) & ((1n << 255n) - 1n));
  if (u === Fp.neg(Fp.ONE)) return undefined; // u = −1 has no Edwards image
  const y = Fp.div(Fp.sub(u, Fp.ONE), Fp.add(u, Fp.ONE));
  const encoded = numberToBytesLE(y, 32);
  encoded[31]! |= sign << 7;
  try {
    return Point.fromBytes(encoded);
  } catch {
    return undefined;
  }
}

/**
 * A verifier for one identity key. An upload carries up to ~200 signatures by the same key, so
 * the Edwards form of the key (one per sign bit) is computed once, and from the fourth use on
 * a multiplication table for it (halves the cost of a 100-key upload; not worth it for one).
 */
export function xeddsaVerifier(montgomeryU: Uint8Array): (message: Uint8Array, signature: Uint8Array) => boolean {
  const keys = new Map<number, { point: InstanceType<typeof Point>; encoded: Uint8Array; uses: number } | undefined>();
  const keyFor = (sign: number) => {
    if (!keys.has(sign)) {
      const point = montgomeryU.length === 32 ? edwardsKeyOf(montgomeryU, sign) : undefined;
      keys.set(sign, point && { point, encoded: point.toBytes(), uses: 0 });
    }
    const key = keys.get(sign);
    if (key && ++key.uses === 4) key.point.precompute(8);
    return key;
  };
  return (message, signature) => {
    if (signature.length !== 64) return false;
    const publicKey = keyFor((signature[63]! & 0x80) >> 7);
    if (!publicKey) return false;
    const encodedR = signature.subarray(0, 32);
    const sBytes = signature.slice(32);
    sBytes[31]! &= 0x7f;
    if ((sBytes[31]! & 0xe0) !== 0) return false; // s must be below 2^253, as libsignal requires
    const s = Fn.create(bytesToNumberLE(sBytes));
    const digest = sha512.create().update(encodedR).update(publicKey.encoded).update(message).digest();
    const h = Fn.create(bytesToNumberLE(digest));
    const expectedR = Point.BASE.multiplyUnsafe(s).subtract(publicKey.point.multiplyUnsafe(h));
    return equalBytes(expectedR.toBytes(), encodedR);
  };
}

/** True when `signature` is a valid XEdDSA signature of `message` by the 32-byte Curve25519 key `montgomeryU`. */
export const verifyXEdDSA = (montgomeryU: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean => xeddsaVerifier(montgomeryU)(message, signature);
