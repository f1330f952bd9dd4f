/**
 * ML-KEM-1024 (FIPS 203) public keys as `/v1` clients publish them, and the message their
 * Ed25519 signature covers. The server never encapsulates or decapsulates: it checks keys and
 * signatures only.
 *
 * Signed encoding: `0x0A ‖ ek` (1,569 bytes), libsignal's serialization of an ML-KEM-1024 key.
 * The type byte keeps a signature over a PQ key from being accepted for any other key type
 * (an X25519 pre-key's signature covers its 32 raw bytes).
 *
 * @example
 * isValidMlKem1024PublicKey(ek) // length and the FIPS 203 §7.2 modulus check
 * verifyEd25519(signature, mlKemSignedMessage(ek), identityKey)
 */

/** FIPS 203 Table 3, ML-KEM-1024: encapsulation key and ciphertext sizes. */
export const mlKem1024PublicKeyLength = 1568;
export const mlKem1024CiphertextLength = 1568;
/** libsignal's KEM key type byte for ML-KEM-1024 (0x08 is its pre-standard Kyber1024). */
export const mlKem1024TypeByte = 0x0a;

const q = 3329;
/** k = 4 polynomials of 256 12-bit coefficients (384 bytes each) precede the 32-byte seed ρ. */
const encodedVectorLength = 4 * 384;

/**
 * FIPS 203 §7.2 input check: ek must equal ByteEncode12(ByteDecode12(ek)), i.e. every 12-bit
 * coefficient of t̂ is below q. Each 3 bytes hold two coefficients, little-endian.
 */
export function hasReducedCoefficients(publicKey: Uint8Array, vectorLength = encodedVectorLength): boolean {
  for (let i = 0; i < vectorLength; i += 3) {
    const b0 = publicKey[i]!;
    const b1 = publicKey[i + 1]!;
    const b2 = publicKey[i + 2]!;
    if ((b0 | ((b1 & 0x0f) << 8)) >= q || ((b1 >> 4) | (b2 << 4)) >= q) return false;
  }
  return true;
}

/** True for a 1,568-byte ML-KEM-1024 encapsulation key that passes the modulus check. */
export function isValidMlKem1024PublicKey(publicKey: Uint8Array): boolean {
  return publicKey.length === mlKem1024PublicKeyLength && hasReducedCoefficients(publicKey);
}

/** What the identity key signs for a PQ pre-key: the type byte, then the raw key. */
export function mlKemSignedMessage(publicKey: Uint8Array): Uint8Array {
  const message = new Uint8Array(1 + publicKey.length);
  message[0] = mlKem1024TypeByte;
  message.set(publicKey, 1);
  return message;
}
