/**
 * Client-side key generation. Private keys are made here and never leave the device except
 * inside an encrypted backup; the server only ever receives the public halves.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { encodeHex, hexBytes, randomKeyId } from './bytes.ts';
import { PrekeydError } from './errors.ts';
import type { GeneratedKeySet, PreKey, PreKeyPair, SignedPreKey } from './types.ts';

/** The server takes at most 100 pre-keys per call (SPEC §3). */
export const maxPreKeysPerCall = 100;

export interface GenerateKeySetOptions {
  /** Also make a last-resort pre-key (signed, never consumed; served when one-time pre-keys run out). */
  lastResort?: boolean;
}

export interface GeneratedPreKeys {
  /** What to upload (`oneTimePreKeys` / `newOneTimePreKeys`). */
  preKeys: PreKey[];
  /** The secrets by keyId, to store before uploading. */
  privateKeys: Record<string, string>;
}

export interface GeneratedSignedPreKey {
  /** What to upload. */
  signedPreKey: SignedPreKey;
  /** The key pair to keep. */
  keyPair: PreKeyPair;
}

function checkCount(count: number, min: number): void {
  if (!Number.isInteger(count) || count < min || count > maxPreKeysPerCall) {
    throw new PrekeydError('INVALID_ARGUMENT', `the number of one-time pre-keys must be an integer from ${min} to ${maxPreKeysPerCall}`);
  }
}

export function generateOneTimePreKeys(count: number): GeneratedPreKeys {
  checkCount(count, 0);
  const preKeys: PreKey[] = [];
  const privateKeys: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const { secretKey, publicKey } = x25519.keygen();
    const keyId = randomKeyId('opk');
    preKeys.push({ keyId, publicKey: encodeHex(publicKey) });
    privateKeys[keyId] = encodeHex(secretKey);
  }
  return { preKeys, privateKeys };
}

/** An X25519 pre-key signed by the identity key over its 32 raw public-key bytes (SPEC §3). */
export function generateSignedPreKey(identityPrivateKey: string, prefix = 'spk'): GeneratedSignedPreKey {
  const identitySecret = hexBytes(identityPrivateKey, 'identity private key', 32);
  const { secretKey, publicKey } = x25519.keygen();
  const keyId = randomKeyId(prefix);
  const publicKeyHex = encodeHex(publicKey);
  return {
    signedPreKey: { keyId, publicKey: publicKeyHex, signature: encodeHex(ed25519.sign(publicKey, identitySecret)) },
    keyPair: { keyId, privateKey: encodeHex(secretKey), publicKey: publicKeyHex },
  };
}

/**
 * A complete key set: Ed25519 identity key, signed X25519 pre-key, `count` one-time pre-keys
 * and optionally a last-resort pre-key. The registration payload is public; store
 * `privateKeys` securely before registering.
 */
export function generateKeySet(count = 20, options: GenerateKeySetOptions = {}): GeneratedKeySet {
  checkCount(count, 1);
  const identity = ed25519.keygen();
  const identityKey = encodeHex(identity.secretKey);
  const identityPublicKey = encodeHex(identity.publicKey);
  const signed = generateSignedPreKey(identityKey);
  const oneTime = generateOneTimePreKeys(count);
  const lastResort = options.lastResort ? generateSignedPreKey(identityKey, 'lrk') : undefined;
  return {
    registrationPayload: {
      identityKey: identityPublicKey,
      signedPreKey: signed.signedPreKey,
      oneTimePreKeys: oneTime.preKeys,
      ...(lastResort && { lastResortPreKey: lastResort.signedPreKey }),
    },
    privateKeys: {
      identityKey,
      identityPublicKey,
      signedPreKey: signed.keyPair,
      oneTimePreKeys: oneTime.privateKeys,
      ...(lastResort && { lastResortPreKey: lastResort.keyPair }),
    },
  };
}
