/**
 * X3DH of the SDK: a known-answer test against a reference built here from first principles
 * (the Ed25519→X25519 maps by hand, HKDF by hand from HMAC-SHA-256), with DH4 from the one-time
 * pre-key, from the last-resort pre-key, or absent; agreement between both
 * sides, and refusal of bundles whose signatures do not verify.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { generateKeySet, PrekeydError, verifyBundle, x3dhInitiate, x3dhRespond, type X3dhBundle } from '../../packages/client/src/index.ts';

// ---------------------------------------------------------------- independent reference

const p = 2n ** 255n - 19n;
const mod = (a: bigint) => ((a % p) + p) % p;
function pow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = mod(result * b);
    b = mod(b * b);
  }
  return result;
}
const littleEndian = (bytes: Uint8Array) => bytes.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
const toLittleEndian = (value: bigint) => Uint8Array.from({ length: 32 }, (_, i) => Number((value >> BigInt(8 * i)) & 0xffn));

/** RFC 7748 §4.1 birational map: u = (1 + y) / (1 - y), y taken from the Ed25519 encoding. */
function referenceEdPublicToX(publicKey: Uint8Array): Uint8Array {
  const y = littleEndian(publicKey) & ((1n << 255n) - 1n);
  return toLittleEndian(mod((1n + y) * pow(1n - y, p - 2n)));
}
/** RFC 8032 §5.1.5: the scalar is the clamped first half of SHA-512(seed); X25519 clamps the same bits. */
const referenceEdSecretToX = (seed: Uint8Array) => sha512(seed).slice(0, 32);

/** RFC 5869 from HMAC: PRK = HMAC(salt, IKM); OKM = T(1) = HMAC(PRK, info ‖ 0x01) for 32 bytes. */
function referenceHkdf32(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): Uint8Array {
  const prk = hmac(sha256, salt, ikm);
  return hmac(sha256, prk, new Uint8Array([...info, 1]));
}

function referenceSecret(dhOutputs: Uint8Array[]): Uint8Array {
  const ikm = new Uint8Array([...new Uint8Array(32).fill(0xff), ...dhOutputs.flatMap((dh) => [...dh])]);
  return referenceHkdf32(ikm, new Uint8Array(32), new TextEncoder().encode('prekeyd X3DH'));
}

// ---------------------------------------------------------------- fixed keys

const fixed = (label: string) => sha256(new TextEncoder().encode(`prekeyd known-answer ${label}`));
const aliceIdentity = fixed('alice identity');
const bobIdentity = fixed('bob identity');
const bobSignedPreKey = fixed('bob signed pre-key');
const bobOneTimePreKey = fixed('bob one-time pre-key');
const bobLastResortPreKey = fixed('bob last-resort pre-key');
const aliceEphemeral = fixed('alice ephemeral');

const bobIdentityPublic = ed25519.getPublicKey(bobIdentity);
const bobSignedPublic = x25519.getPublicKey(bobSignedPreKey);
const bundle: X3dhBundle = {
  identityKey: bytesToHex(bobIdentityPublic),
  signedPreKey: { keyId: 'spk_1', publicKey: bytesToHex(bobSignedPublic), signature: bytesToHex(ed25519.sign(bobSignedPublic, bobIdentity)) },
  oneTimePreKey: { keyId: 'opk_1', publicKey: bytesToHex(x25519.getPublicKey(bobOneTimePreKey)) },
};
const bobLastResortPublic = x25519.getPublicKey(bobLastResortPreKey);
const lastResortPreKey = { keyId: 'lrk_1', publicKey: bytesToHex(bobLastResortPublic), signature: bytesToHex(ed25519.sign(bobLastResortPublic, bobIdentity)) };
/** What the server hands out once Bob's one-time pre-keys are gone: no one-time key, the signed last-resort key. */
const lastResortBundle: X3dhBundle = { ...bundle, oneTimePreKey: null, lastResortPreKey };

describe('X3DH known-answer test', () => {
  it('matches the reference for fixed keys, with and without a one-time pre-key', () => {
    const dh = (secret: Uint8Array, publicKey: Uint8Array) => x25519.scalarMult(secret, publicKey);
    const dh1 = dh(referenceEdSecretToX(aliceIdentity), bobSignedPublic);
    const dh2 = dh(aliceEphemeral, referenceEdPublicToX(bobIdentityPublic));
    const dh3 = dh(aliceEphemeral, bobSignedPublic);
    const dh4 = dh(aliceEphemeral, x25519.getPublicKey(bobOneTimePreKey));

    const withOneTime = x3dhInitiate({ identityPrivateKey: aliceIdentity, ephemeralPrivateKey: aliceEphemeral, bundle });
    expect(bytesToHex(withOneTime.sharedSecret)).toBe(bytesToHex(referenceSecret([dh1, dh2, dh3, dh4])));
    expect(withOneTime.sharedSecret).toHaveLength(32);
    expect(bytesToHex(withOneTime.associatedData)).toBe(bytesToHex(ed25519.getPublicKey(aliceIdentity)) + bundle.identityKey);
    expect(withOneTime.ephemeralPublicKey).toBe(bytesToHex(x25519.getPublicKey(aliceEphemeral)));
    expect(withOneTime.oneTimePreKeyId).toBe('opk_1');

    const withoutOneTime = x3dhInitiate({
      identityPrivateKey: bytesToHex(aliceIdentity),
      ephemeralPrivateKey: aliceEphemeral,
      bundle: { ...bundle, oneTimePreKey: null },
    });
    expect(bytesToHex(withoutOneTime.sharedSecret)).toBe(bytesToHex(referenceSecret([dh1, dh2, dh3])));
    expect(withoutOneTime.oneTimePreKeyId).toBeNull();
    expect(withoutOneTime.lastResortPreKeyId).toBeNull();
  });

  it('matches the reference with the last-resort pre-key as DH4 when no one-time pre-key was handed out', () => {
    const dh = (secret: Uint8Array, publicKey: Uint8Array) => x25519.scalarMult(secret, publicKey);
    const dh1 = dh(referenceEdSecretToX(aliceIdentity), bobSignedPublic);
    const dh2 = dh(aliceEphemeral, referenceEdPublicToX(bobIdentityPublic));
    const dh3 = dh(aliceEphemeral, bobSignedPublic);
    const dh4LastResort = dh(aliceEphemeral, bobLastResortPublic);
    const dh4OneTime = dh(aliceEphemeral, x25519.getPublicKey(bobOneTimePreKey));

    const withLastResort = x3dhInitiate({ identityPrivateKey: aliceIdentity, ephemeralPrivateKey: aliceEphemeral, bundle: lastResortBundle });
    expect(bytesToHex(withLastResort.sharedSecret)).toBe(bytesToHex(referenceSecret([dh1, dh2, dh3, dh4LastResort])));
    expect(bytesToHex(withLastResort.sharedSecret)).not.toBe(bytesToHex(referenceSecret([dh1, dh2, dh3])));
    expect(withLastResort).toMatchObject({ oneTimePreKeyId: null, lastResortPreKeyId: 'lrk_1' });

    // A one-time pre-key always wins over the last-resort key.
    const both = x3dhInitiate({ identityPrivateKey: aliceIdentity, ephemeralPrivateKey: aliceEphemeral, bundle: { ...bundle, lastResortPreKey } });
    expect(bytesToHex(both.sharedSecret)).toBe(bytesToHex(referenceSecret([dh1, dh2, dh3, dh4OneTime])));
    expect(both).toMatchObject({ oneTimePreKeyId: 'opk_1', lastResortPreKeyId: null });
  });

  it('the responder derives the last-resort secret with its last-resort private key, and only with it', () => {
    const initiated = x3dhInitiate({ identityPrivateKey: aliceIdentity, ephemeralPrivateKey: aliceEphemeral, bundle: lastResortBundle });
    const common = {
      identityPrivateKey: bobIdentity,
      signedPreKeyPrivateKey: bobSignedPreKey,
      initiatorIdentityKey: bytesToHex(ed25519.getPublicKey(aliceIdentity)),
      initiatorEphemeralKey: initiated.ephemeralPublicKey,
    };
    const responded = x3dhRespond({ ...common, lastResortPreKeyPrivateKey: bytesToHex(bobLastResortPreKey) });
    expect(bytesToHex(responded.sharedSecret)).toBe(bytesToHex(initiated.sharedSecret));
    expect(bytesToHex(responded.associatedData)).toBe(bytesToHex(initiated.associatedData));
    expect(bytesToHex(x3dhRespond(common).sharedSecret)).not.toBe(bytesToHex(initiated.sharedSecret));
    expect(bytesToHex(x3dhRespond({ ...common, oneTimePreKeyPrivateKey: bobOneTimePreKey }).sharedSecret)).not.toBe(bytesToHex(initiated.sharedSecret));
    let both: unknown;
    try {
      x3dhRespond({ ...common, oneTimePreKeyPrivateKey: bobOneTimePreKey, lastResortPreKeyPrivateKey: bobLastResortPreKey });
    } catch (error) {
      both = error;
    }
    expect(both).toBeInstanceOf(PrekeydError);
    expect((both as PrekeydError).errorCode).toBe('INVALID_ARGUMENT');
  });

  it('the reference maps agree with the X25519 keys of the converted Ed25519 keys', () => {
    // Guards the reference itself: the u-coordinate of the converted secret's public key is the converted public key.
    const publicFromSecret = x25519.getPublicKey(referenceEdSecretToX(bobIdentity));
    expect(bytesToHex(publicFromSecret)).toBe(bytesToHex(referenceEdPublicToX(bobIdentityPublic)));
  });

  it('the responder derives the same secret and associated data', () => {
    const initiated = x3dhInitiate({ identityPrivateKey: aliceIdentity, ephemeralPrivateKey: aliceEphemeral, bundle });
    const responded = x3dhRespond({
      identityPrivateKey: bobIdentity,
      signedPreKeyPrivateKey: bobSignedPreKey,
      oneTimePreKeyPrivateKey: bobOneTimePreKey,
      initiatorIdentityKey: bytesToHex(ed25519.getPublicKey(aliceIdentity)),
      initiatorEphemeralKey: initiated.ephemeralPublicKey,
    });
    expect(bytesToHex(responded.sharedSecret)).toBe(bytesToHex(initiated.sharedSecret));
    expect(bytesToHex(responded.associatedData)).toBe(bytesToHex(initiated.associatedData));

    // Leaving out the one-time pre-key on one side only gives a different secret.
    const missingDh4 = x3dhRespond({
      identityPrivateKey: bobIdentity,
      signedPreKeyPrivateKey: bobSignedPreKey,
      initiatorIdentityKey: bytesToHex(ed25519.getPublicKey(aliceIdentity)),
      initiatorEphemeralKey: initiated.ephemeralPublicKey,
    });
    expect(bytesToHex(missingDh4.sharedSecret)).not.toBe(bytesToHex(initiated.sharedSecret));
  });

  it('fresh ephemeral keys give fresh secrets, and the caller-given ephemeral key is left intact', () => {
    const ephemeral = aliceEphemeral.slice();
    x3dhInitiate({ identityPrivateKey: aliceIdentity, ephemeralPrivateKey: ephemeral, bundle });
    expect(bytesToHex(ephemeral)).toBe(bytesToHex(aliceEphemeral));
    const a = x3dhInitiate({ identityPrivateKey: aliceIdentity, bundle });
    const b = x3dhInitiate({ identityPrivateKey: aliceIdentity, bundle });
    expect(a.ephemeralPublicKey).not.toBe(b.ephemeralPublicKey);
    expect(bytesToHex(a.sharedSecret)).not.toBe(bytesToHex(b.sharedSecret));
  });
});

describe('bundle verification', () => {
  const flipHex = (hex: string, index = 0) => {
    const bytes = hexToBytes(hex);
    bytes[index]! ^= 0x01;
    return bytesToHex(bytes);
  };
  const refused = (candidate: X3dhBundle) => {
    try {
      x3dhInitiate({ identityPrivateKey: aliceIdentity, bundle: candidate });
    } catch (error) {
      return error instanceof PrekeydError ? error.errorCode : 'other error';
    }
    return 'accepted';
  };

  it('accepts a genuine bundle, with or without a one-time pre-key', () => {
    expect(() => verifyBundle(bundle)).not.toThrow();
    expect(refused({ ...bundle, oneTimePreKey: null })).toBe('accepted');
  });

  it('refuses a tampered signature, a substituted signed pre-key, or a substituted identity key', () => {
    const otherIdentity = ed25519.keygen();
    const mallory = x25519.keygen();
    expect(refused({ ...bundle, signedPreKey: { ...bundle.signedPreKey, signature: flipHex(bundle.signedPreKey.signature, 5) } })).toBe(
      'BUNDLE_SIGNATURE_INVALID',
    );
    expect(refused({ ...bundle, signedPreKey: { ...bundle.signedPreKey, publicKey: bytesToHex(mallory.publicKey) } })).toBe('BUNDLE_SIGNATURE_INVALID');
    expect(refused({ ...bundle, identityKey: bytesToHex(otherIdentity.publicKey) })).toBe('BUNDLE_SIGNATURE_INVALID');
    // Mallory's own identity signing Mallory's pre-key is a valid bundle — of Mallory: the fingerprint tells them apart.
    const signedByMallory = {
      ...bundle.signedPreKey,
      publicKey: bytesToHex(mallory.publicKey),
      signature: bytesToHex(ed25519.sign(mallory.publicKey, otherIdentity.secretKey)),
    };
    expect(refused({ ...bundle, signedPreKey: signedByMallory })).toBe('BUNDLE_SIGNATURE_INVALID');
  });

  it('refuses a tampered last-resort pre-key, malformed keys and a low-order one-time pre-key', () => {
    const keys = generateKeySet(1, { lastResort: true }).registrationPayload;
    const genuine: X3dhBundle = {
      identityKey: keys.identityKey,
      signedPreKey: keys.signedPreKey,
      oneTimePreKey: null,
      lastResortPreKey: keys.lastResortPreKey!,
    };
    expect(refused(genuine)).toBe('accepted');
    const lastResort = keys.lastResortPreKey!;
    expect(refused({ ...genuine, lastResortPreKey: { ...lastResort, signature: flipHex(lastResort.signature, 40) } })).toBe('BUNDLE_SIGNATURE_INVALID');
    // A substituted last-resort key (Mallory's, with the genuine signature) is refused before it could serve as DH4.
    expect(refused({ ...genuine, lastResortPreKey: { ...lastResort, publicKey: bytesToHex(x25519.keygen().publicKey) } })).toBe('BUNDLE_SIGNATURE_INVALID');
    expect(refused({ ...bundle, identityKey: 'zz'.repeat(32) })).toBe('BUNDLE_SIGNATURE_INVALID');
    expect(refused({ ...bundle, signedPreKey: { ...bundle.signedPreKey, signature: 'ab' } })).toBe('BUNDLE_SIGNATURE_INVALID');
    expect(refused({ ...bundle, oneTimePreKey: { keyId: 'opk_x', publicKey: '00'.repeat(32) } })).toBe('INVALID_PEER_KEY');
  });
});
