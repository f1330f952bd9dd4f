/**
 * ML-KEM-1024 (FIPS 203) as prekeyd uses it: `@noble/post-quantum` against a NIST ACVP
 * known-answer vector (the package ships none), and the server's own key check (crypto/ml-kem.ts)
 * against the library's FIPS 203 §7.2 modulus check.
 */
import { hexToBytes } from '@noble/hashes/utils.js';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { describe, expect, it } from 'vitest';
import { hasReducedCoefficients, isValidMlKem1024PublicKey, mlKemSignedMessage } from '../../packages/client/src/ml-kem.ts';
import acvp from './fixtures/ml-kem-1024-acvp.json' with { type: 'json' };

const [vector] = acvp.encapsulation;
const dk = hexToBytes(vector!.dk);
// FIPS 203 Algorithm 16: dk = dk_pke (384k bytes) ‖ ek ‖ H(ek) ‖ z, k = 4.
const ek = dk.subarray(1536, 1536 + 1568);

describe('ML-KEM-1024 known answers (NIST ACVP, encapDecap, tcId 51)', () => {
  it('encapsulates with the vector randomness m to the expected ciphertext and shared secret', () => {
    const { cipherText, sharedSecret } = ml_kem1024.encapsulate(ek, hexToBytes(vector!.m));
    expect(Buffer.from(cipherText).toString('hex')).toBe(vector!.c.toLowerCase());
    expect(Buffer.from(sharedSecret).toString('hex')).toBe(vector!.k.toLowerCase());
  });

  it('decapsulates the vector ciphertext to the expected shared secret, and derives ek from dk', () => {
    expect(Buffer.from(ml_kem1024.decapsulate(hexToBytes(vector!.c), dk)).toString('hex')).toBe(vector!.k.toLowerCase());
    expect(ml_kem1024.getPublicKey(dk)).toEqual(ek);
  });

  it('implicitly rejects a modified ciphertext: a different secret, no exception', () => {
    const modified = hexToBytes(vector!.c);
    modified[0]! ^= 1;
    expect(Buffer.from(ml_kem1024.decapsulate(modified, dk)).toString('hex')).not.toBe(vector!.k.toLowerCase());
  });
});

/** Sets the 12-bit coefficient `index` of t̂ (two per 3 bytes, little-endian). */
function withCoefficient(key: Uint8Array, index: number, value: number): Uint8Array {
  const out = Uint8Array.from(key);
  const at = Math.floor(index / 2) * 3;
  if (index % 2 === 0) {
    out[at] = value & 0xff;
    out[at + 1] = (out[at + 1]! & 0xf0) | (value >> 8);
  } else {
    out[at + 1] = (out[at + 1]! & 0x0f) | ((value & 0x0f) << 4);
    out[at + 2] = value >> 4;
  }
  return out;
}

describe('the server-side ML-KEM-1024 key check', () => {
  it('accepts generated keys and the vector key; refuses other lengths', () => {
    expect(isValidMlKem1024PublicKey(ek)).toBe(true);
    for (let i = 0; i < 5; i++) expect(isValidMlKem1024PublicKey(ml_kem1024.keygen().publicKey)).toBe(true);
    expect(isValidMlKem1024PublicKey(ek.subarray(1))).toBe(false);
    expect(isValidMlKem1024PublicKey(new Uint8Array(1569))).toBe(false);
  });

  it('agrees with the library on the modulus check: q - 1 passes, q and 4095 fail, at either half of a byte triple', () => {
    for (const index of [0, 1, 777, 1023]) {
      for (const [value, valid] of [
        [3328, true],
        [3329, false],
        [4095, false],
      ] as const) {
        const key = withCoefficient(ek, index, value);
        expect({ index, value, ours: hasReducedCoefficients(key) }).toEqual({ index, value, ours: valid });
        expect({
          index,
          value,
          noble: (() => {
            try {
              ml_kem1024.encapsulate(key);
              return true;
            } catch {
              return false;
            }
          })(),
        }).toEqual({ index, value, noble: valid });
      }
    }
  });

  it('ignores the 32-byte seed ρ after t̂ (any bytes are valid there)', () => {
    const key = Uint8Array.from(ek);
    key.fill(0xff, 1536);
    expect(isValidMlKem1024PublicKey(key)).toBe(true);
  });

  it('signs 0x0A ‖ ek, libsignal’s ML-KEM-1024 serialization', () => {
    const message = mlKemSignedMessage(ek);
    expect(message.length).toBe(1569);
    expect(message[0]).toBe(0x0a);
    expect(message.subarray(1)).toEqual(ek);
  });
});
