/**
 * Client-side key generation. Private keys are made here and never leave the device except
 * inside an encrypted backup; the server only ever receives the public halves.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { mlKemSignedMessage } from './ml-kem.ts';
import { encodeHex, hexBytes, randomBytes, randomKeyId } from './bytes.ts';
import { PrekeydError } from './errors.ts';
import type { GeneratedKeySet, PqPreKey, PreKey, PreKeyPair, SignedPreKey } from './types.ts';

/** The server takes at most 100 pre-keys per call (SPEC §3). */
export const maxPreKeysPerCall = 100;

export interface GenerateKeySetOptions {
  /** Also make a last-resort pre-key (signed, never consumed; served when one-time pre-keys run out). */
  lastResort?: boolean;
  /**
   * ML-KEM-1024 pre-keys for PQXDH (default true): as many one-time ones as EC ones, and a
   * last-resort one, each signed by the identity key over 0x0A ‖ key.
   */
  postQuantum?: boolean;
}

export interface GeneratedPqPreKeys {
  /** What to upload (`pqOneTimePreKeys` / `newPqOneTimePreKeys`). */
  pqPreKeys: PqPreKey[];
  /** The 64-byte ML-KEM seeds by keyId, hex, to store before uploading. */
  privateKeys: Record<string, string>;
}

export interface GeneratedPqLastResortPreKey {
  pqPreKey: PqPreKey;
  keyPair: PreKeyPair;
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

/** One ML-KEM-1024 key pair from a fresh 64-byte seed (what the device keeps), signed by the identity key. */
function signedPqKeyPair(identitySecret: Uint8Array, prefix: string) {
  const seed = randomBytes(64);
  const { publicKey } = ml_kem1024.keygen(seed);
  const keyId = randomKeyId(prefix);
  const publicKeyHex = encodeHex(publicKey);
  const signature = encodeHex(ed25519.sign(mlKemSignedMessage(publicKey), identitySecret));
  return { pqPreKey: { keyId, publicKey: publicKeyHex, signature }, keyPair: { keyId, privateKey: encodeHex(seed), publicKey: publicKeyHex } };
}

/** `count` (0-100) signed ML-KEM-1024 one-time pre-keys. */
export function generatePqOneTimePreKeys(identityPrivateKey: string, count: number): GeneratedPqPreKeys {
  checkCount(count, 0);
  const identitySecret = hexBytes(identityPrivateKey, 'identity private key', 32);
  const pqPreKeys: PqPreKey[] = [];
  const privateKeys: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const { pqPreKey, keyPair } = signedPqKeyPair(identitySecret, 'pqk');
    pqPreKeys.push(pqPreKey);
    privateKeys[keyPair.keyId] = keyPair.privateKey;
  }
  return { pqPreKeys, privateKeys };
}

/** A signed ML-KEM-1024 last-resort pre-key (served when the one-time ones run out, never consumed). */
export function generatePqLastResortPreKey(identityPrivateKey: string): GeneratedPqLastResortPreKey {
  return signedPqKeyPair(hexBytes(identityPrivateKey, 'identity private key', 32), 'pqlr');
}

/**
 * A complete key set: Ed25519 identity key, signed X25519 pre-key, `count` one-time pre-keys
 * and optionally a last-resort pre-key; with `postQuantum` (the default) also `count` ML-KEM-1024
 * one-time pre-keys and an ML-KEM last-resort pre-key. The registration payload is public; store
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
  const postQuantum = options.postQuantum ?? true;
  const pqOneTime = postQuantum ? generatePqOneTimePreKeys(identityKey, count) : undefined;
  const pqLastResort = postQuantum ? generatePqLastResortPreKey(identityKey) : undefined;
  return {
    registrationPayload: {
      identityKey: identityPublicKey,
      signedPreKey: signed.signedPreKey,
      oneTimePreKeys: oneTime.preKeys,
      ...(lastResort && { lastResortPreKey: lastResort.signedPreKey }),
      ...(pqOneTime && { pqOneTimePreKeys: pqOneTime.pqPreKeys }),
      ...(pqLastResort && { pqLastResortPreKey: pqLastResort.pqPreKey }),
    },
    privateKeys: {
      identityKey,
      identityPublicKey,
      signedPreKey: signed.keyPair,
      oneTimePreKeys: oneTime.privateKeys,
      ...(lastResort && { lastResortPreKey: lastResort.keyPair }),
      ...(pqOneTime && { pqOneTimePreKeys: pqOneTime.privateKeys }),
      ...(pqLastResort && { pqLastResortPreKey: pqLastResort.keyPair }),
    },
  };
}
