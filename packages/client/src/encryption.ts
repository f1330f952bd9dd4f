/**
 * Message encryption with the X3DH shared secret: AES-256-GCM, a random 96-bit nonce per
 * message, and the X3DH associated data bound in. The serialised form is a JSON-friendly object:
 *
 *   { "version": 1, "nonce": base64(12 bytes), "ciphertext": base64(ciphertext ‖ 16-byte tag) }
 *
 * Random nonces are safe for up to 2^32 messages under one key (NIST SP 800-38D §8.3); a
 * messenger that sends more, or wants per-message forward secrecy, runs a ratchet on top.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { base64Bytes, encodeBase64, keyBytes, randomBytes, utf8 } from './bytes.ts';
import { PrekeydError } from './errors.ts';

export interface EncryptedMessage {
  version: 1;
  /** 12-byte AES-GCM nonce, base64. */
  nonce: string;
  /** Ciphertext followed by the 16-byte GCM tag, base64. */
  ciphertext: string;
}

const nonceLength = 12;
const tagLength = 16;

/** Encrypts bytes, or a string as UTF-8. `key` is the 32-byte shared secret (bytes or hex). */
export function encrypt(plaintext: Uint8Array | string, key: Uint8Array | string, associatedData?: Uint8Array): EncryptedMessage {
  const nonce = randomBytes(nonceLength);
  const data = typeof plaintext === 'string' ? utf8(plaintext) : plaintext;
  const sealed = gcm(keyBytes(key, 'encryption key'), nonce, associatedData).encrypt(data);
  return { version: 1, nonce: encodeBase64(nonce), ciphertext: encodeBase64(sealed) };
}

/**
 * Decrypts and authenticates. A wrong key, different associated data, or any change to the
 * message throws PrekeydError `DECRYPTION_FAILED`; nothing unauthenticated is ever returned.
 */
export function decrypt(message: EncryptedMessage, key: Uint8Array | string, associatedData?: Uint8Array): Uint8Array {
  const secret = keyBytes(key, 'encryption key');
  let nonce: Uint8Array;
  let sealed: Uint8Array;
  try {
    if (message?.version !== 1) throw new Error(`unknown version ${String(message?.version)}`);
    nonce = base64Bytes(message.nonce, 'nonce');
    sealed = base64Bytes(message.ciphertext, 'ciphertext');
    if (nonce.length !== nonceLength || sealed.length < tagLength) throw new Error('wrong lengths');
  } catch (cause) {
    throw new PrekeydError('DECRYPTION_FAILED', 'Not an encrypted message of this SDK (version 1, 12-byte nonce)', { cause });
  }
  try {
    return gcm(secret, nonce, associatedData).decrypt(sealed);
  } catch (cause) {
    throw new PrekeydError('DECRYPTION_FAILED', 'The message does not authenticate: wrong key, wrong associated data, or tampered', { cause });
  }
}

/** `decrypt`, then UTF-8 decoding (strict: invalid UTF-8 is a DECRYPTION_FAILED too). */
export function decryptText(message: EncryptedMessage, key: Uint8Array | string, associatedData?: Uint8Array): string {
  const bytes = decrypt(message, key, associatedData);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new PrekeydError('DECRYPTION_FAILED', 'The decrypted message is not UTF-8 text', { cause });
  }
}
