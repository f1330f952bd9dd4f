/**
 * PQXDH (Signal's specification, https://signal.org/docs/specifications/pqxdh/) against a vector
 * computed independently here: X25519 and HKDF from node:crypto (OpenSSL), the Ed25519 → X25519
 * conversion by hand, the KDF written out per spec §2.2 — only ML-KEM itself comes from
 * @noble/post-quantum (checked against NIST ACVP in test/crypto/ml-kem.test.ts).
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { createHash, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PrekeydError } from '../../packages/client/src/errors.ts';
import { type PqxdhBundle, pqxdhInitiate, pqxdhRespond } from '../../packages/client/src/pqxdh.ts';
import { x3dhInitiate } from '../../packages/client/src/x3dh.ts';

const filled = (length: number, byte: number) => new Uint8Array(length).fill(byte);
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

/** X25519(secret, public) through OpenSSL. */
function opensslX25519(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const x = b64url(x25519.getPublicKey(secret));
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(secret), x }, format: 'jwk' });
  const peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(publicKey) }, format: 'jwk' });
  return new Uint8Array(diffieHellman({ privateKey, publicKey: peer }));
}

/** RFC 8032 §5.1.5: the X25519 scalar of an Ed25519 seed is the clamped first half of SHA-512(seed). */
const edSecretToX25519 = (seed: Uint8Array) => {
  const h = new Uint8Array(createHash('sha512').update(seed).digest()).subarray(0, 32);
  h[0]! &= 248;
  h[31]! &= 127;
  h[31]! |= 64;
  return h;
};

/** RFC 7748 §4.1: u = (1 + y) / (1 - y) mod p for an Edwards point's y. */
function edPublicToX25519(publicKey: Uint8Array): Uint8Array {
  const p = 2n ** 255n - 19n;
  let y = 0n;
  for (let i = 31; i >= 0; i--) y = (y << 8n) | BigInt(i === 31 ? publicKey[i]! & 0x7f : publicKey[i]!);
  const power = (base: bigint, exponent: bigint): bigint => {
    let result = 1n;
    for (let b = base % p, e = exponent; e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) result = (result * b) % p;
    return result;
  };
  const u = (((1n + y) % p) * power((1n - y + p) % p, p - 2n)) % p;
  return Uint8Array.from({ length: 32 }, (_, i) => Number((u >> BigInt(8 * i)) & 0xffn));
}

/** Spec §2.2: HKDF with F = 32 0xFF bytes, a zero salt of the hash length, info = info_CURVE_HASH_PQKEM. */
const specKdf = (km: Uint8Array[]) =>
  new Uint8Array(hkdfSync('sha256', Buffer.concat([filled(32, 0xff), ...km]), filled(32, 0), 'prekeyd PQXDH_CURVE25519_SHA-256_ML-KEM-1024', 32));

// Fixed key material: Alice's identity and ephemeral keys, Bob's identity, signed, one-time and ML-KEM pre-keys.
const aliceIdentity = filled(32, 0x01);
const aliceEphemeral = filled(32, 0x02);
const bobIdentity = filled(32, 0x03);
const bobSignedPreKey = filled(32, 0x04);
const bobOneTimePreKey = filled(32, 0x05);
const bobPqSeed = filled(64, 0x06);
const encapsulationRandomness = filled(32, 0x07);

const bobIdentityPublic = ed25519.getPublicKey(bobIdentity);
const pqPublic = ml_kem1024.keygen(bobPqSeed).publicKey;

function bundle(withOneTime: boolean, pqLastResort = false): PqxdhBundle {
  const spk = x25519.getPublicKey(bobSignedPreKey);
  return {
    identityKey: bytesToHex(bobIdentityPublic),
    signedPreKey: { keyId: 'spk_1', publicKey: bytesToHex(spk), signature: bytesToHex(ed25519.sign(spk, bobIdentity)) },
    oneTimePreKey: withOneTime ? { keyId: 'opk_1', publicKey: bytesToHex(x25519.getPublicKey(bobOneTimePreKey)) } : null,
    pqPreKey: {
      keyId: 'pqk_1',
      publicKey: bytesToHex(pqPublic),
      signature: bytesToHex(ed25519.sign(Uint8Array.of(0x0a, ...pqPublic), bobIdentity)),
      lastResort: pqLastResort,
    },
  };
}

/** SK, CT and AD computed from the spec alone (§3.3). */
function expected(withOneTime: boolean) {
  const spk = x25519.getPublicKey(bobSignedPreKey);
  const dh1 = opensslX25519(edSecretToX25519(aliceIdentity), spk);
  const dh2 = opensslX25519(aliceEphemeral, edPublicToX25519(bobIdentityPublic));
  const dh3 = opensslX25519(aliceEphemeral, spk);
  const dh4 = withOneTime ? [opensslX25519(aliceEphemeral, x25519.getPublicKey(bobOneTimePreKey))] : [];
  const { cipherText, sharedSecret } = ml_kem1024.encapsulate(pqPublic, encapsulationRandomness);
  return {
    sharedSecret: specKdf([dh1, dh2, dh3, ...dh4, sharedSecret]),
    kemCiphertext: bytesToHex(cipherText),
    associatedData: Uint8Array.of(...ed25519.getPublicKey(aliceIdentity), ...bobIdentityPublic),
  };
}

describe('PQXDH against an independently computed vector', () => {
  for (const withOneTime of [true, false]) {
    it(`${withOneTime ? 'with DH4 (one-time pre-key)' : 'without DH4'}: the initiator and the responder derive the spec's SK`, () => {
      const want = expected(withOneTime);
      const alice = pqxdhInitiate({
        identityPrivateKey: aliceIdentity,
        ephemeralPrivateKey: Uint8Array.from(aliceEphemeral),
        bundle: bundle(withOneTime),
        encapsulationRandomness,
      });
      expect(bytesToHex(alice.sharedSecret)).toBe(bytesToHex(want.sharedSecret));
      expect(alice.kemCiphertext).toBe(want.kemCiphertext);
      expect(alice.associatedData).toEqual(want.associatedData);
      expect(alice).toMatchObject({ pqPreKeyId: 'pqk_1', pqPreKeyLastResort: false, oneTimePreKeyId: withOneTime ? 'opk_1' : null });
      expect(alice.ephemeralPublicKey).toBe(bytesToHex(x25519.getPublicKey(aliceEphemeral)));

      const bob = pqxdhRespond({
        identityPrivateKey: bobIdentity,
        signedPreKeyPrivateKey: bobSignedPreKey,
        oneTimePreKeyPrivateKey: withOneTime ? bobOneTimePreKey : null,
        pqPreKeyPrivateKey: bobPqSeed,
        kemCiphertext: alice.kemCiphertext,
        initiatorIdentityKey: bytesToHex(ed25519.getPublicKey(aliceIdentity)),
        initiatorEphemeralKey: alice.ephemeralPublicKey,
      });
      expect(bytesToHex(bob.sharedSecret)).toBe(bytesToHex(want.sharedSecret));
      expect(bob.associatedData).toEqual(want.associatedData);
    });
  }

  it('differs from X3DH of the same keys (SS is in the KDF) and from a session with another KEM secret', () => {
    const first = pqxdhInitiate({ identityPrivateKey: aliceIdentity, ephemeralPrivateKey: Uint8Array.from(aliceEphemeral), bundle: bundle(true) });
    const second = pqxdhInitiate({ identityPrivateKey: aliceIdentity, ephemeralPrivateKey: Uint8Array.from(aliceEphemeral), bundle: bundle(true) });
    expect(first.kemCiphertext).not.toBe(second.kemCiphertext); // fresh randomness m each time
    expect(bytesToHex(first.sharedSecret)).not.toBe(bytesToHex(second.sharedSecret));
    const { pqPreKey: _pq, ...classic } = bundle(true);
    const x3dh = x3dhInitiate({ identityPrivateKey: aliceIdentity, ephemeralPrivateKey: Uint8Array.from(aliceEphemeral), bundle: classic });
    expect(bytesToHex(first.sharedSecret)).not.toBe(bytesToHex(x3dh.sharedSecret));
  });

  it('refuses an ML-KEM pre-key whose signature does not cover 0x0A ‖ key, or that fails the modulus check', () => {
    const forged = bundle(true);
    forged.pqPreKey.signature = bytesToHex(ed25519.sign(pqPublic, bobIdentity)); // over the bare key
    expect(() => pqxdhInitiate({ identityPrivateKey: aliceIdentity, bundle: forged })).toThrow(PrekeydError);
    const unreduced = bundle(true);
    const bytes = Uint8Array.from(pqPublic);
    bytes[0] = 0xff;
    bytes[1] = 0xff;
    unreduced.pqPreKey = {
      ...unreduced.pqPreKey,
      publicKey: bytesToHex(bytes),
      signature: bytesToHex(ed25519.sign(Uint8Array.of(0x0a, ...bytes), bobIdentity)),
    };
    expect(() => pqxdhInitiate({ identityPrivateKey: aliceIdentity, bundle: unreduced })).toThrow(/ML-KEM-1024/);
  });
});
