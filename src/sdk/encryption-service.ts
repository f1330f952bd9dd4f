/**
 * `EncryptionService` as seed 004's SDK example uses it: `await EncryptionService.encrypt(object,
 * sharedSecret)` and `await EncryptionService.decrypt(encrypted, sharedSecret)`. Objects travel as
 * JSON inside the AES-256-GCM message of encryption.ts.
 */
import { decryptText, type EncryptedMessage, encrypt } from './encryption.ts';
import { PrekeydError } from './errors.ts';

export const EncryptionService = {
  /** Encrypts a JSON value (object, array, string, number…) with the 32-byte shared secret. */
  async encrypt(value: unknown, key: Uint8Array | string, associatedData?: Uint8Array): Promise<EncryptedMessage> {
    const json = JSON.stringify(value);
    if (json === undefined) throw new PrekeydError('INVALID_ARGUMENT', 'EncryptionService.encrypt: the value is not representable as JSON');
    return encrypt(json, key, associatedData);
  },

  /** Decrypts, authenticates and parses what `encrypt` made; a wrong key or any change throws DECRYPTION_FAILED. */
  async decrypt<T = unknown>(message: EncryptedMessage, key: Uint8Array | string, associatedData?: Uint8Array): Promise<T> {
    const text = decryptText(message, key, associatedData);
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new PrekeydError('DECRYPTION_FAILED', 'The decrypted message is not JSON', { cause });
    }
  },
};
