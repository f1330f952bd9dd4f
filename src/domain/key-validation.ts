/** Cryptographic checks of `/v1` key material (shapes and hex are checked by the route schemas). */
import { decodeHex } from '../../packages/client/src/core/encoding.ts';
import { isValidEd25519PublicKeyCached, verifyEd25519 } from '../crypto/keys.ts';
import { isValidX25519PublicKey } from '../../packages/client/src/core/keys.ts';
import { isValidMlKem1024PublicKey, mlKemSignedMessage } from '../../packages/client/src/ml-kem.ts';
import type { PreKey, SignedKey } from '../store/types.ts';
import { AppError, type ErrorDetail } from './errors.ts';

const bytes = (hex: string): Uint8Array => decodeHex(hex) ?? new Uint8Array();

export function checkIdentityKey(identityKey: string, field = 'identityKey'): void {
  if (!isValidEd25519PublicKeyCached(bytes(identityKey))) {
    throw new AppError('VALIDATION_ERROR', 'identityKey is not a valid Ed25519 public key', [{ field, message: 'not a valid Ed25519 point' }]);
  }
}

/** Every pre-key must be a usable X25519 key and key ids must not repeat within the request. */
export function checkPreKeys(keys: readonly PreKey[], field: string): void {
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  keys.forEach((key, index) => {
    if (!isValidX25519PublicKey(bytes(key.publicKey))) {
      details.push({ field: `${field}.${index}.publicKey`, message: 'not a usable X25519 public key (low-order point)' });
    }
    if (seen.has(key.keyId)) details.push({ field: `${field}.${index}.keyId`, message: `duplicate keyId ${key.keyId}` });
    seen.add(key.keyId);
  });
  if (details.length > 0) throw new AppError('VALIDATION_ERROR', `Invalid ${field}`, details);
}

/** The signature is Ed25519 by the identity key over the 32 raw bytes of the pre-key (SPEC §3). */
export async function checkSignedPreKey(key: SignedKey, identityKey: string, field: string): Promise<void> {
  checkPreKeys([key], field);
  if (!(await verifyEd25519(bytes(key.signature), bytes(key.publicKey), bytes(identityKey)))) {
    throw new AppError('INVALID_SIGNATURE', `${field}.signature is not a valid signature by the identity key`, [
      { field: `${field}.signature`, message: 'signature does not verify' },
    ]);
  }
}

/**
 * ML-KEM-1024 pre-keys: each a valid encapsulation key (length and FIPS 203 modulus check), key
 * ids distinct within the list, and an Ed25519 signature by the identity key over `0x0A ‖ key`
 * (crypto/ml-kem.ts). `field` names a list; `single` a lone key (the last-resort one).
 */
export async function checkPqPreKeys(keys: readonly SignedKey[], identityKey: string, field: string, single = false): Promise<void> {
  const path = (index: number, part: string) => (single ? `${field}.${part}` : `${field}.${index}.${part}`);
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  const publicKeys = keys.map((key) => bytes(key.publicKey)); // decoded once: ~1.5 KB each, up to 100 a request
  keys.forEach((key, index) => {
    if (!isValidMlKem1024PublicKey(publicKeys[index]!)) {
      details.push({ field: path(index, 'publicKey'), message: 'not a valid ML-KEM-1024 encapsulation key (FIPS 203 modulus check)' });
    }
    if (seen.has(key.keyId)) details.push({ field: path(index, 'keyId'), message: `duplicate keyId ${key.keyId}` });
    seen.add(key.keyId);
  });
  if (details.length > 0) throw new AppError('VALIDATION_ERROR', `Invalid ${field}`, details);
  const identity = bytes(identityKey);
  const verified = await Promise.all(keys.map((key, index) => verifyEd25519(bytes(key.signature), mlKemSignedMessage(publicKeys[index]!), identity)));
  const bad = verified.flatMap((ok, index) => (ok ? [] : [{ field: path(index, 'signature'), message: 'signature does not verify' }]));
  if (bad.length > 0) {
    throw new AppError('INVALID_SIGNATURE', `${field}: not a valid signature by the identity key over 0x0A ‖ publicKey`, bad);
  }
}
