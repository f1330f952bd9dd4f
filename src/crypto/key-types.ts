/**
 * The key types of the public-key directory (seed 002): how each one's public key is checked
 * and put in canonical form, and how a key pair is generated for the opt-in server keygen.
 *
 * Canonical forms, so one key has one spelling in the directory:
 * - `ecdsa` (P-256) and `secp256k1`: SEC1 uncompressed `04‖x‖y`, 65 bytes; compressed 33-byte
 *   input is accepted and decompressed (the seed shows `04…`).
 * - `ed25519`: the RFC 8032 encoding, 32 bytes; non-canonical encodings are refused.
 * - `x25519`: the RFC 7748 u-coordinate, 32 bytes, u < p with the top bit clear.
 * Private keys are the 32-byte secret scalar (ed25519: the seed), as raw bytes.
 *
 * @example
 * const canonical = publicKeyTypes.ecdsa.canonicalize(bytes); // throws InvalidPublicKey
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import {
  isCanonicalX25519Encoding,
  isValidEd25519PublicKey,
  isValidX25519PublicKey,
  publicKeyTypeNames,
  type PublicKeyTypeName,
} from '../../packages/client/src/core/keys.ts';

// The names are shared with the SDK; the checks of the two 25519 types too.
export const keyTypeNames = publicKeyTypeNames;
export type KeyTypeName = PublicKeyTypeName;

/** Why a public key was refused; the message completes "publicKey …". */
export class InvalidPublicKey extends Error {}

export interface KeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

export interface KeyType {
  /** Checks the point and returns its canonical encoding; throws `InvalidPublicKey`. */
  canonicalize(bytes: Uint8Array): Uint8Array;
  generate(): KeyPair;
}

/** The curves `@noble/curves` builds on short Weierstrass equations share this much. */
interface WeierstrassCurve {
  Point: { fromBytes(bytes: Uint8Array): { toBytes(compressed?: boolean): Uint8Array } };
  keygen(): { secretKey: Uint8Array };
  getPublicKey(secretKey: Uint8Array, compressed?: boolean): Uint8Array;
}

function weierstrass(curve: WeierstrassCurve, curveName: string): KeyType {
  return {
    canonicalize(bytes) {
      if (bytes.length !== 65 && bytes.length !== 33) {
        throw new InvalidPublicKey(`must be 65 bytes (uncompressed 04…) or 33 bytes (compressed 02…/03…) for ${curveName}, got ${bytes.length}`);
      }
      try {
        // fromBytes checks the prefix, that x and y are field elements, and that the point is on the curve.
        return curve.Point.fromBytes(bytes).toBytes(false);
      } catch {
        throw new InvalidPublicKey(`is not a valid ${curveName} point`);
      }
    },
    generate() {
      const { secretKey } = curve.keygen();
      return { publicKey: curve.getPublicKey(secretKey, false), privateKey: secretKey };
    },
  };
}

const edwards25519: KeyType = {
  canonicalize(bytes) {
    if (bytes.length !== 32) throw new InvalidPublicKey(`must be 32 bytes for ed25519, got ${bytes.length}`);
    // Strict RFC 8032 decoding (y < p) plus a small-order check: such keys make forgeries trivial.
    if (!isValidEd25519PublicKey(bytes)) throw new InvalidPublicKey('is not a valid ed25519 point (or is of small order)');
    return bytes;
  },
  generate() {
    const { secretKey, publicKey } = ed25519.keygen();
    return { publicKey, privateKey: secretKey };
  },
};

const montgomery25519: KeyType = {
  canonicalize(bytes) {
    if (bytes.length !== 32) throw new InvalidPublicKey(`must be 32 bytes for x25519, got ${bytes.length}`);
    // A low-order u makes every shared secret predictable (RFC 7748 §6.1).
    if (!isValidX25519PublicKey(bytes)) throw new InvalidPublicKey('is a low-order x25519 point');
    // RFC 7748 decoders mask the top bit and reduce mod p; the directory keeps the one canonical spelling.
    if (!isCanonicalX25519Encoding(bytes)) throw new InvalidPublicKey('is not a canonical x25519 encoding (top bit set or u ≥ 2^255-19)');
    return bytes;
  },
  generate() {
    const { secretKey, publicKey } = x25519.keygen();
    return { publicKey, privateKey: secretKey };
  },
};

export const publicKeyTypes: Record<KeyTypeName, KeyType> = {
  ecdsa: weierstrass(p256, 'P-256'),
  ed25519: edwards25519,
  x25519: montgomery25519,
  secp256k1: weierstrass(secp256k1, 'secp256k1'),
};
