/** Cryptographic checks of `/v1` key material (shapes and hex are checked by the route schemas). */
import { decodeHex } from '../crypto/encoding.ts';
import { isValidEd25519PublicKey, isValidX25519PublicKey, verifyEd25519 } from '../crypto/keys.ts';
import type { PreKey, SignedKey } from '../store/types.ts';
import { AppError, type ErrorDetail } from './errors.ts';

const bytes = (hex: string): Uint8Array => decodeHex(hex) ?? new Uint8Array();

export function checkIdentityKey(identityKey: string, field = 'identityKey'): void {
  if (!isValidEd25519PublicKey(bytes(identityKey))) {
    throw new AppError('VALIDATION_ERROR', 'identityKey is not a valid Ed25519 public key', [
      { field, message: 'not a valid Ed25519 point' },
    ]);
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
