/** Client-side key material for tests, made the way a real client makes it (private keys never leave). */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';

let counter = 0;

export interface TestIdentity {
  identityKey: string;
  identitySecret: Uint8Array;
  sign(publicKeyHex: string): string;
}

export function makeIdentity(): TestIdentity {
  const { secretKey, publicKey } = ed25519.keygen();
  return {
    identityKey: bytesToHex(publicKey),
    identitySecret: secretKey,
    sign: (publicKeyHex) => bytesToHex(ed25519.sign(Buffer.from(publicKeyHex, 'hex'), secretKey)),
  };
}

/**
 * One-time pre-key public keys. Tests never use their private halves, so random 32-byte
 * strings (valid X25519 public keys with overwhelming probability) stand in for keygen.
 */
export function makePreKeys(count: number, prefix = 'opk') {
  return Array.from({ length: count }, () => ({
    keyId: `${prefix}_${++counter}`,
    publicKey: bytesToHex(crypto.getRandomValues(new Uint8Array(32))),
  }));
}

export function makeSignedPreKey(identity: TestIdentity, keyId = `spk_${++counter}`) {
  const publicKey = bytesToHex(x25519.keygen().publicKey);
  return { keyId, publicKey, signature: identity.sign(publicKey) };
}

/** A complete `/v1/keys/register` body. */
export function registration(userId: string, preKeys = 10, extra: Record<string, unknown> = {}) {
  const identity = makeIdentity();
  return {
    identity,
    body: {
      userId,
      identityKey: identity.identityKey,
      signedPreKey: makeSignedPreKey(identity),
      oneTimePreKeys: makePreKeys(preKeys),
      ...extra,
    },
  };
}
