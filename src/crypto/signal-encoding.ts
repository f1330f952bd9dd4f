/**
 * libsignal's wire encodings: keys are serialized with a leading type byte (0x05 Curve25519,
 * 0x08 Kyber1024, 0x0A ML-KEM-1024) and sent as standard base64, padded or not. Decoding checks
 * base64, length and type byte, and answers with the bytes or the reason they are unusable.
 * Both KEM types share the `kyber` slot: same sizes and key layout, and a key set holds the
 * keys its client made.
 *
 * @example
 * decodeSignalKey('BQ…', 'ec') // { ok: true, bytes } (33 bytes, bytes[0] === 0x05)
 */
import { decodeBase64 } from '../../packages/client/src/core/encoding.ts';
import { isValidX25519PublicKey } from '../../packages/client/src/core/keys.ts';
import { hasReducedCoefficients, mlKem1024TypeByte } from '../../packages/client/src/ml-kem.ts';

export type SignalKeyType = 'ec' | 'kyber';

const keyFormats = {
  ec: { typeBytes: [0x05], length: 33, name: 'Curve25519' },
  kyber: { typeBytes: [0x08, mlKem1024TypeByte], length: 1569, name: 'Kyber1024 or ML-KEM-1024' },
} as const;

export const signatureLength = 64;

export type Decoded = { ok: true; bytes: Uint8Array } | { ok: false; reason: string };

const hex2 = (byte: number) => `0x${byte.toString(16).padStart(2, '0')}`;

/** A serialized libsignal public key; Curve25519 keys must also not be low-order points. */
export function decodeSignalKey(text: string, type: SignalKeyType): Decoded {
  const format = keyFormats[type];
  const bytes = decodeBase64(text);
  if (!bytes) return { ok: false, reason: 'must be standard base64' };
  if (bytes.length !== format.length) {
    return { ok: false, reason: `must be a ${format.length}-byte serialized ${format.name} key (got ${bytes.length} bytes)` };
  }
  if (!(format.typeBytes as readonly number[]).includes(bytes[0]!)) {
    const expected = format.typeBytes.map(hex2).join(' or ');
    return { ok: false, reason: `must start with the ${format.name} type byte ${expected} (got ${hex2(bytes[0]!)})` };
  }
  if (type === 'ec' && !isValidX25519PublicKey(bytes.subarray(1))) {
    return { ok: false, reason: 'not a usable Curve25519 public key (low-order point)' };
  }
  // FIPS 203 §7.2's modulus check; Kyber1024 keys have the same layout and honest ones pass it too.
  if (type === 'kyber' && !hasReducedCoefficients(bytes.subarray(1))) {
    return { ok: false, reason: 'not a valid KEM public key (a coefficient is not reduced modulo q = 3329)' };
  }
  return { ok: true, bytes };
}

/** Fixed-size base64 values such as Signal's 32-byte key digests. */
export function decodeFixedBytes(text: string, length: number): Decoded {
  const bytes = decodeBase64(text);
  if (!bytes) return { ok: false, reason: 'must be standard base64' };
  if (bytes.length !== length) return { ok: false, reason: `must be ${length} bytes (got ${bytes.length})` };
  return { ok: true, bytes };
}

export const decodeSignature = (text: string): Decoded => decodeFixedBytes(text, signatureLength);
