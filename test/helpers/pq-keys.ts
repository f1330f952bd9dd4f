/** ML-KEM-1024 pre-keys for `/v1` tests, made and signed as a client makes them (0x0A ‖ ek, Ed25519). */
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import type { TestIdentity } from './keys.ts';

let counter = 0;

/** What the identity key signs for an ML-KEM pre-key: the type byte 0x0A, then the raw key. */
export const pqSignedMessage = (publicKey: Uint8Array) => Uint8Array.of(0x0a, ...publicKey);

export interface TestPqPreKey {
  keyId: string;
  publicKey: string;
  signature: string;
  /** The 64-byte keygen seed, for tests that decapsulate. */
  seed: Uint8Array;
}

export function makePqPreKey(identity: TestIdentity, keyId = `pqk_${++counter}`): TestPqPreKey {
  const seed = crypto.getRandomValues(new Uint8Array(64));
  const { publicKey } = ml_kem1024.keygen(seed);
  return { keyId, publicKey: bytesToHex(publicKey), signature: bytesToHex(ed25519.sign(pqSignedMessage(publicKey), identity.identitySecret)), seed };
}

/** `count` signed ML-KEM one-time pre-keys, without their seeds (the wire shape). */
export function makePqPreKeys(identity: TestIdentity, count: number, prefix = 'pqk') {
  return Array.from({ length: count }, () => {
    const { seed: _seed, ...key } = makePqPreKey(identity, `${prefix}_${++counter}`);
    return key;
  });
}

export const wire = ({ seed: _seed, ...key }: TestPqPreKey) => key;
