/** XEdDSA verification with @noble/curves agrees with libsignal's own `PublicKey.verify`, and the libsignal encodings are checked. */
import { IdentityKeyPair, KEMKeyPair, PrivateKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { decodeSignalKey, decodeSignature } from '../../src/crypto/signal-encoding.ts';
import { verifyXEdDSA, xeddsaVerifier } from '../../src/crypto/xeddsa.ts';
import { toBase64 } from './libsignal-device.ts';

const groupOrder = 2n ** 252n + 27742317777372353535851937790883648493n;
const littleEndian = (bytes: Uint8Array) => bytes.reduceRight((value, byte) => (value << 8n) | BigInt(byte), 0n);
const toLittleEndian = (value: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));

describe('verifyXEdDSA', () => {
  const identity = IdentityKeyPair.generate();
  const montgomeryU = identity.publicKey.getPublicKeyBytes();

  it('accepts libsignal signatures over EC and Kyber keys (type byte included)', () => {
    const verify = xeddsaVerifier(montgomeryU);
    for (let i = 0; i < 20; i++) {
      const ec = PrivateKey.generate().getPublicKey().serialize();
      const kyber = KEMKeyPair.generate().getPublicKey().serialize();
      expect(verify(ec, identity.privateKey.sign(ec))).toBe(true);
      expect(verify(kyber, identity.privateKey.sign(kyber))).toBe(true);
      // The signature covers the serialized key: without its type byte it does not verify.
      expect(verify(ec.subarray(1), identity.privateKey.sign(ec))).toBe(false);
    }
  });

  it('rejects another key, another message, and a wrong length', () => {
    const message = PrivateKey.generate().getPublicKey().serialize();
    const signature = identity.privateKey.sign(message);
    expect(verifyXEdDSA(IdentityKeyPair.generate().publicKey.getPublicKeyBytes(), message, signature)).toBe(false);
    expect(
      verifyXEdDSA(
        montgomeryU,
        message.map((byte, i) => (i === 7 ? byte ^ 1 : byte)),
        signature,
      ),
    ).toBe(false);
    expect(verifyXEdDSA(montgomeryU, message, signature.subarray(0, 63))).toBe(false);
    expect(verifyXEdDSA(montgomeryU.subarray(1), message, signature)).toBe(false);
  });

  it('agrees with libsignal on tampered signatures (R, s, the sign bit, s + L, s ≥ 2^253)', () => {
    const message = KEMKeyPair.generate().getPublicKey().serialize();
    const signature = identity.privateKey.sign(message);
    const s = littleEndian(signature.slice(32).map((byte, i) => (i === 31 ? byte & 0x7f : byte)));
    const signBit = signature[63]! & 0x80;
    const withS = (value: bigint) => {
      const copy = signature.slice();
      copy.set(toLittleEndian(value), 32);
      copy[63] = (copy[63]! & 0x7f) | signBit;
      return copy;
    };
    const variants = [
      signature,
      signature.map((byte, i) => (i === 3 ? byte ^ 0x10 : byte)), // R
      signature.map((byte, i) => (i === 40 ? byte ^ 0x01 : byte)), // s
      signature.map((byte, i) => (i === 63 ? byte ^ 0x80 : byte)), // sign bit of the Edwards key
      withS(s + groupOrder), // non-canonical s below 2^253: libsignal reduces it
      withS(s | (1n << 253n)), // s ≥ 2^253: libsignal refuses
      new Uint8Array(64),
    ];
    for (const variant of variants) {
      expect(verifyXEdDSA(montgomeryU, message, variant)).toBe(identity.publicKey.verify(message, variant));
    }
    expect(verifyXEdDSA(montgomeryU, message, withS(s + groupOrder))).toBe(true);
  });

  it('rejects the key u = −1, which has no Edwards form', () => {
    const minusOne = toLittleEndian(2n ** 255n - 19n - 1n);
    expect(verifyXEdDSA(minusOne, new Uint8Array(1), new Uint8Array(64))).toBe(false);
  });
});

describe('signal encodings', () => {
  const ec = PrivateKey.generate().getPublicKey().serialize();
  const kyber = KEMKeyPair.generate().getPublicKey().serialize();

  it('accepts libsignal keys, padded or not', () => {
    expect(decodeSignalKey(toBase64(ec), 'ec')).toEqual({ ok: true, bytes: ec });
    expect(decodeSignalKey(toBase64(ec).replace(/=+$/, ''), 'ec')).toEqual({ ok: true, bytes: ec });
    expect(decodeSignalKey(toBase64(kyber), 'kyber')).toEqual({ ok: true, bytes: kyber });
  });

  it('names what is wrong: base64, length, type byte, low order', () => {
    expect(decodeSignalKey('@@@@', 'ec')).toEqual({ ok: false, reason: 'must be standard base64' });
    expect(decodeSignalKey(toBase64(ec).replace(/\+/g, '-').replace(/\//g, '_') + '-_', 'ec').ok).toBe(false);
    expect(decodeSignalKey(toBase64(ec.subarray(1)), 'ec')).toMatchObject({ ok: false, reason: expect.stringContaining('33-byte') });
    expect(decodeSignalKey(toBase64(kyber), 'ec')).toMatchObject({ ok: false, reason: expect.stringContaining('33-byte') });
    expect(decodeSignalKey(toBase64(Uint8Array.of(0x08, ...ec.subarray(1))), 'ec')).toMatchObject({ ok: false, reason: expect.stringContaining('0x05') });
    expect(decodeSignalKey(toBase64(Uint8Array.of(0x05, ...kyber.subarray(1))), 'kyber')).toMatchObject({ ok: false, reason: expect.stringContaining('0x08') });
    expect(decodeSignalKey(toBase64(Uint8Array.of(0x05, 1, ...new Uint8Array(31))), 'ec')).toMatchObject({
      ok: false,
      reason: expect.stringContaining('low-order'),
    });
    expect(decodeSignature(toBase64(new Uint8Array(65))).ok).toBe(false);
    expect(decodeSignature(toBase64(new Uint8Array(64))).ok).toBe(true);
  });
});
