/** Key generation, message encryption and backup encryption of the SDK, without a server. */
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { backupBody } from '../../src/routes/v1-keys/backup-schemas.ts';
import { registerBody, rotateBody } from '../../src/routes/v1-keys/schemas.ts';
import {
  decrypt,
  decryptBackup,
  decryptText,
  defaultArgon2Params,
  encrypt,
  encryptBackup,
  generateKeySet,
  generateOneTimePreKeys,
  PrekeydError,
  type EncryptedMessage,
  type PrivateKeys,
} from '../../packages/client/src/index.ts';

const errorCode = async (run: () => unknown): Promise<string> => {
  try {
    await run();
  } catch (error) {
    return error instanceof PrekeydError ? error.errorCode : `not a PrekeydError: ${String(error)}`;
  }
  return 'no error';
};

/** Cheap Argon2id for the tests that are not about cost (the default cost runs once below). */
const fastArgon2 = { timeCost: 1, memoryCost: 64, parallelism: 1 };

describe('generateKeySet', () => {
  it('makes a payload the server schema accepts and private keys that match it', () => {
    const { registrationPayload: payload, privateKeys } = generateKeySet(20, { lastResort: true });
    expect(registerBody.safeParse({ userId: 'user_a', ...payload, deviceId: 'phone', deviceName: 'Phone' }).success).toBe(true);
    expect(Object.keys(payload).sort()).toEqual([
      'identityKey',
      'lastResortPreKey',
      'oneTimePreKeys',
      'pqLastResortPreKey',
      'pqOneTimePreKeys',
      'signedPreKey',
    ]);
    expect(payload.oneTimePreKeys).toHaveLength(20);
    expect(new Set(payload.oneTimePreKeys.map((key) => key.keyId)).size).toBe(20);

    expect(bytesToHex(ed25519.getPublicKey(hexToBytes(privateKeys.identityKey)))).toBe(payload.identityKey);
    expect(privateKeys.identityPublicKey).toBe(payload.identityKey);
    for (const signed of [payload.signedPreKey, payload.lastResortPreKey!]) {
      expect(ed25519.verify(hexToBytes(signed.signature), hexToBytes(signed.publicKey), hexToBytes(payload.identityKey))).toBe(true);
    }
    expect(bytesToHex(x25519.getPublicKey(hexToBytes(privateKeys.signedPreKey.privateKey)))).toBe(payload.signedPreKey.publicKey);
    expect(privateKeys.signedPreKey.keyId).toBe(payload.signedPreKey.keyId);
    expect(bytesToHex(x25519.getPublicKey(hexToBytes(privateKeys.lastResortPreKey!.privateKey)))).toBe(payload.lastResortPreKey!.publicKey);
    for (const preKey of payload.oneTimePreKeys) {
      expect(bytesToHex(x25519.getPublicKey(hexToBytes(privateKeys.oneTimePreKeys[preKey.keyId]!)))).toBe(preKey.publicKey);
    }
    // ML-KEM-1024 keys (postQuantum, the default): one per EC one-time key and a last-resort one, signed over 0x0A ‖ key, kept as seeds.
    expect(payload.pqOneTimePreKeys).toHaveLength(20);
    for (const pq of [...payload.pqOneTimePreKeys!, payload.pqLastResortPreKey!]) {
      expect(ed25519.verify(hexToBytes(pq.signature), Uint8Array.of(0x0a, ...hexToBytes(pq.publicKey)), hexToBytes(payload.identityKey))).toBe(true);
    }
    for (const pq of payload.pqOneTimePreKeys!) {
      expect(bytesToHex(ml_kem1024.keygen(hexToBytes(privateKeys.pqOneTimePreKeys![pq.keyId]!)).publicKey)).toBe(pq.publicKey);
    }
    expect(privateKeys.pqLastResortPreKey).toMatchObject({ keyId: payload.pqLastResortPreKey!.keyId, publicKey: payload.pqLastResortPreKey!.publicKey });
    expect(bytesToHex(ml_kem1024.keygen(hexToBytes(privateKeys.pqLastResortPreKey!.privateKey)).publicKey)).toBe(payload.pqLastResortPreKey!.publicKey);
    // Private keys are JSON as they are (for storage and backups).
    expect(JSON.parse(JSON.stringify(privateKeys))).toEqual(privateKeys);
    // postQuantum: false leaves them out.
    const classic = generateKeySet(2, { postQuantum: false });
    expect(classic.registrationPayload.pqOneTimePreKeys).toBeUndefined();
    expect(classic.privateKeys.pqLastResortPreKey).toBeUndefined();
  });

  it('leaves out the last-resort key unless asked, and checks the count', async () => {
    const { registrationPayload, privateKeys } = generateKeySet(1);
    expect(registrationPayload.lastResortPreKey).toBeUndefined();
    expect(privateKeys.lastResortPreKey).toBeUndefined();
    expect(await errorCode(() => generateKeySet(0))).toBe('INVALID_ARGUMENT');
    expect(await errorCode(() => generateKeySet(101))).toBe('INVALID_ARGUMENT');
    expect(await errorCode(() => generateKeySet(2.5))).toBe('INVALID_ARGUMENT');
  });

  it('one-time pre-keys for a rotation fit the rotate body', () => {
    const { preKeys, privateKeys } = generateOneTimePreKeys(100);
    expect(rotateBody.safeParse({ userId: 'user_a', newOneTimePreKeys: preKeys }).success).toBe(true);
    expect(Object.keys(privateKeys)).toEqual(preKeys.map((key) => key.keyId));
  });
});

describe('encrypt / decrypt', () => {
  const key = sha256(new TextEncoder().encode('a shared secret'));
  const associatedData = new Uint8Array(64).fill(7);

  it('round-trips text and bytes, with a fresh 12-byte nonce each time', () => {
    const message = encrypt('Hello Bob! ✓', key, associatedData);
    expect(message.version).toBe(1);
    expect(Buffer.from(message.nonce, 'base64')).toHaveLength(12);
    expect(Buffer.from(message.ciphertext, 'base64')).toHaveLength(Buffer.byteLength('Hello Bob! ✓') + 16);
    expect(decryptText(message, key, associatedData)).toBe('Hello Bob! ✓');
    expect(decryptText(JSON.parse(JSON.stringify(message)), bytesToHex(key), associatedData)).toBe('Hello Bob! ✓');
    const bytes = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    expect(decrypt(encrypt(bytes, key), key)).toEqual(bytes);
    expect(encrypt('same', key).nonce).not.toBe(encrypt('same', key).nonce);
  });

  it('fails with DECRYPTION_FAILED on a wrong key, wrong associated data or any tampering', async () => {
    const message = encrypt('attack at dawn', key, associatedData);
    const flip = (text: string, index: number) => {
      const bytes = Buffer.from(text, 'base64');
      bytes[index]! ^= 0x80;
      return bytes.toString('base64');
    };
    const wrongKey = new Uint8Array(key);
    wrongKey[0]! ^= 1;
    expect(await errorCode(() => decrypt(message, wrongKey, associatedData))).toBe('DECRYPTION_FAILED');
    expect(await errorCode(() => decrypt(message, key))).toBe('DECRYPTION_FAILED');
    expect(await errorCode(() => decrypt(message, key, new Uint8Array(64)))).toBe('DECRYPTION_FAILED');
    expect(await errorCode(() => decrypt({ ...message, ciphertext: flip(message.ciphertext, 0) }, key, associatedData))).toBe('DECRYPTION_FAILED');
    expect(await errorCode(() => decrypt({ ...message, ciphertext: flip(message.ciphertext, 20) }, key, associatedData))).toBe('DECRYPTION_FAILED');
    expect(await errorCode(() => decrypt({ ...message, nonce: flip(message.nonce, 3) }, key, associatedData))).toBe('DECRYPTION_FAILED');
    expect(await errorCode(() => decrypt({ ...message, nonce: 'AAAA' }, key, associatedData))).toBe('DECRYPTION_FAILED');
    expect(await errorCode(() => decrypt({ ...message, version: 2 } as unknown as EncryptedMessage, key, associatedData))).toBe('DECRYPTION_FAILED');
    expect(await errorCode(() => decrypt(message, new Uint8Array(16)))).toBe('INVALID_ARGUMENT');
  });
});

describe('backups', () => {
  const { privateKeys } = generateKeySet(5, { lastResort: true });

  it('produce exactly the /v1/keys/backup body and restore with the password', async () => {
    const body = await encryptBackup('user_a', privateKeys, 'correct horse battery staple', { argon2Params: fastArgon2, expectedVersion: 0 });
    const parsed = backupBody.safeParse(body);
    expect(parsed.success).toBe(true);
    expect(body.encryptionMetadata).toEqual({
      algorithm: 'argon2id+aes-256-gcm',
      argon2Params: fastArgon2,
      nonce: expect.stringMatching(/^[0-9a-f]{24}$/),
      salt: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(body.checksum).toBe(bytesToHex(sha256(Buffer.from(body.encryptedBundle, 'base64'))));
    expect(body.expectedVersion).toBe(0);
    // The blob hides the keys.
    expect(Buffer.from(body.encryptedBundle, 'base64').toString('latin1')).not.toContain(privateKeys.identityKey);

    const restored: PrivateKeys = await decryptBackup(body, 'correct horse battery staple');
    expect(restored).toEqual(privateKeys);
  });

  it('a wrong password, an altered blob or hostile parameters fail cleanly', async () => {
    const body = await encryptBackup('user_a', privateKeys, 'right password', { argon2Params: fastArgon2 });
    expect(await errorCode(() => decryptBackup(body, 'wrong password'))).toBe('WRONG_PASSWORD');
    expect(await errorCode(() => decryptBackup(body, ''))).toBe('INVALID_ARGUMENT');
    const metadata = body.encryptionMetadata;
    // An altered salt derives another key: indistinguishable from a wrong password.
    expect(await errorCode(() => decryptBackup({ ...body, encryptionMetadata: { ...metadata, salt: '00'.repeat(16) } }, 'right password'))).toBe(
      'WRONG_PASSWORD',
    );
    const blob = Buffer.from(body.encryptedBundle, 'base64');
    blob[3]! ^= 1;
    expect(await errorCode(() => decryptBackup({ ...body, encryptedBundle: blob.toString('base64') }, 'right password'))).toBe('CHECKSUM_MISMATCH');
    const resealed = { ...body, encryptedBundle: blob.toString('base64'), checksum: bytesToHex(sha256(blob)) };
    expect(await errorCode(() => decryptBackup(resealed, 'right password'))).toBe('WRONG_PASSWORD');
    const greedy = { ...metadata, argon2Params: { timeCost: 3, memoryCost: 8 * 1024 * 1024, parallelism: 4 } };
    expect(await errorCode(() => decryptBackup({ ...body, encryptionMetadata: greedy }, 'right password'))).toBe('UNSUPPORTED_BACKUP');
    expect(await errorCode(() => decryptBackup({ ...body, encryptionMetadata: { ...metadata, algorithm: 'scrypt+aes' } }, 'right password'))).toBe(
      'UNSUPPORTED_BACKUP',
    );
    expect(await errorCode(() => encryptBackup('user_a', privateKeys, 'pw', { argon2Params: { timeCost: 0, memoryCost: 64, parallelism: 1 } }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('passwords are compared after NFKC normalisation', async () => {
    const body = await encryptBackup('user_a', privateKeys, 'caf\u00e9', { argon2Params: fastArgon2 });
    expect(await decryptBackup(body, 'cafe\u0301')).toEqual(privateKeys);
  });

  it("uses seed 004's parameters by default (Argon2id t=3, m=64 MiB, p=4)", { timeout: 60_000 }, async () => {
    const body = await encryptBackup('user_a', privateKeys, 'default cost');
    expect(body.encryptionMetadata.argon2Params).toEqual({ timeCost: 3, memoryCost: 65536, parallelism: 4 });
    expect(defaultArgon2Params).toEqual({ timeCost: 3, memoryCost: 65536, parallelism: 4 });
    expect(await decryptBackup(body, 'default cost')).toEqual(privateKeys);
  });
});
