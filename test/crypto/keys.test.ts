import { x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { isValidX25519PublicKey } from '../../packages/client/src/core/keys.ts';

const p = 2n ** 255n - 19n;
const encode = (u: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((u >> BigInt(8 * i)) & 0xffn));
const lowOrder = [
  0n,
  1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
  p - 1n,
  p,
  p + 1n,
];

describe('isValidX25519PublicKey', () => {
  it('refuses every low-order point, with or without the ignored top bit, as a DH with them shows', () => {
    for (const u of lowOrder) {
      for (const bytes of [encode(u), encode(u | (1n << 255n))]) {
        expect(isValidX25519PublicKey(bytes)).toBe(false);
        // independent check: a DH with a low-order point gives the all-zero output noble refuses
        expect(() => x25519.getSharedSecret(x25519.utils.randomSecretKey(), bytes)).toThrow();
      }
    }
  });

  it('accepts real public keys and refuses wrong lengths', () => {
    for (let i = 0; i < 50; i++) expect(isValidX25519PublicKey(x25519.keygen().publicKey)).toBe(true);
    expect(isValidX25519PublicKey(new Uint8Array(31).fill(9))).toBe(false);
    expect(isValidX25519PublicKey(new Uint8Array(33).fill(9))).toBe(false);
  });
});
