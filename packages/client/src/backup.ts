/**
 * Encrypted key backups: the private keys as JSON, encrypted with AES-256-GCM under a key
 * derived from the password by Argon2id (RFC 9106). The server stores the result as an opaque
 * blob; only the password opens it.
 *
 *   key        = Argon2id(password (UTF-8, NFKC), salt (16 random bytes), t, m KiB, p, 32 bytes)
 *   blob       = AES-256-GCM(key, nonce (12 random bytes), plaintext, no associated data) ‖ tag
 *   plaintext  = JSON {"format":"prekeyd-private-keys","version":1,"privateKeys":{…}}
 *   checksum   = hex SHA-256(blob)
 */
import { gcm } from '@noble/ciphers/aes.js';
import { argon2idAsync } from '@noble/hashes/argon2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { base64Bytes, encodeBase64, encodeHex, hexBytes, randomBytes, utf8 } from './bytes.ts';
import { PrekeydError } from './errors.ts';
import type { Argon2Params, BackupRequest, PrivateKeys, RecoveredBackup } from './types.ts';

export const backupAlgorithm = 'argon2id+aes-256-gcm';

/** Seed 004's parameters: 3 passes over 64 MiB with 4 lanes. */
export const defaultArgon2Params: Readonly<Argon2Params> = Object.freeze({ timeCost: 3, memoryCost: 65536, parallelism: 4 });

/**
 * The most a backup's metadata may ask of this device. The parameters come from the server,
 * so a hostile or broken one could otherwise make recovery allocate gigabytes or run for hours.
 */
export const defaultArgon2Limits: Readonly<Argon2Params> = Object.freeze({ timeCost: 16, memoryCost: 1024 * 1024, parallelism: 16 });

const plaintextFormat = 'prekeyd-private-keys';

export interface EncryptBackupOptions {
  argon2Params?: Argon2Params;
  /** Optimistic concurrency: the version the server must currently hold (0 when none). */
  expectedVersion?: number;
  onProgress?: (fraction: number) => void;
}

export interface DecryptBackupOptions {
  limits?: Argon2Params;
  onProgress?: (fraction: number) => void;
}

function passwordBytes(password: string): Uint8Array {
  if (typeof password !== 'string' || password.length === 0) {
    throw new PrekeydError('INVALID_ARGUMENT', 'The backup password must be a non-empty string');
  }
  // One password, one key, whichever way the device composes accented characters.
  return utf8(password.normalize('NFKC'));
}

async function deriveKey(password: string, salt: Uint8Array, params: Argon2Params, onProgress?: (fraction: number) => void) {
  const { timeCost: t, memoryCost: m, parallelism: p } = params;
  return argon2idAsync(passwordBytes(password), salt, {
    t,
    m,
    p,
    dkLen: 32,
    maxmem: m * 1024 + 1024 * 1024,
    ...(onProgress && { onProgress }),
  });
}

function checkParams(params: Argon2Params, limits: Argon2Params, code: 'INVALID_ARGUMENT' | 'UNSUPPORTED_BACKUP'): void {
  const { timeCost, memoryCost, parallelism } = params ?? ({} as Argon2Params);
  const ok =
    [timeCost, memoryCost, parallelism].every((value) => Number.isSafeInteger(value) && value >= 1) &&
    memoryCost >= 8 * parallelism &&
    timeCost <= limits.timeCost &&
    memoryCost <= limits.memoryCost &&
    parallelism <= limits.parallelism;
  if (!ok) {
    throw new PrekeydError(
      code,
      `Argon2id parameters out of range (timeCost 1-${limits.timeCost}, memoryCost 8·parallelism-${limits.memoryCost} KiB, parallelism 1-${limits.parallelism})`,
    );
  }
}

/** Encrypts the private keys into exactly the `POST /v1/keys/backup` body. */
export async function encryptBackup(userId: string, privateKeys: PrivateKeys, password: string, options: EncryptBackupOptions = {}): Promise<BackupRequest> {
  const params = { ...(options.argon2Params ?? defaultArgon2Params) };
  checkParams(params, { timeCost: 2 ** 32 - 1, memoryCost: 2 ** 32 - 1, parallelism: 2 ** 24 - 1 }, 'INVALID_ARGUMENT');
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const key = await deriveKey(password, salt, params, options.onProgress);
  const plaintext = utf8(JSON.stringify({ format: plaintextFormat, version: 1, privateKeys }));
  const blob = gcm(key, nonce).encrypt(plaintext);
  key.fill(0);
  plaintext.fill(0);
  return {
    userId,
    encryptedBundle: encodeBase64(blob),
    encryptionMetadata: { algorithm: backupAlgorithm, argon2Params: params, nonce: encodeHex(nonce), salt: encodeHex(salt) },
    checksum: encodeHex(sha256(blob)),
    ...(options.expectedVersion !== undefined && { expectedVersion: options.expectedVersion }),
  };
}

function isPrivateKeys(value: unknown): value is PrivateKeys {
  const keys = value as PrivateKeys | null;
  return (
    typeof keys === 'object' &&
    keys !== null &&
    typeof keys.identityKey === 'string' &&
    typeof keys.identityPublicKey === 'string' &&
    typeof keys.signedPreKey?.privateKey === 'string' &&
    typeof keys.oneTimePreKeys === 'object' &&
    keys.oneTimePreKeys !== null
  );
}

/**
 * Opens a backup (a `/v1/keys/recover` answer) with the password. A wrong password throws
 * PrekeydError `WRONG_PASSWORD`; a blob that does not match its checksum `CHECKSUM_MISMATCH`;
 * an unknown algorithm or excessive parameters `UNSUPPORTED_BACKUP`.
 */
export async function decryptBackup(
  backup: Pick<RecoveredBackup, 'encryptedBundle' | 'encryptionMetadata' | 'checksum'>,
  password: string,
  options: DecryptBackupOptions = {},
): Promise<PrivateKeys> {
  const metadata = backup.encryptionMetadata;
  if (metadata?.algorithm !== backupAlgorithm) {
    throw new PrekeydError('UNSUPPORTED_BACKUP', `Unsupported backup algorithm ${String(metadata?.algorithm)} (expected ${backupAlgorithm})`);
  }
  checkParams(metadata.argon2Params, options.limits ?? defaultArgon2Limits, 'UNSUPPORTED_BACKUP');
  let blob: Uint8Array;
  let nonce: Uint8Array;
  let salt: Uint8Array;
  try {
    blob = base64Bytes(backup.encryptedBundle, 'encryptedBundle');
    nonce = hexBytes(metadata.nonce, 'nonce', 12);
    salt = hexBytes(metadata.salt, 'salt');
  } catch (cause) {
    throw new PrekeydError('UNSUPPORTED_BACKUP', 'The backup is malformed (blob, 12-byte nonce or salt)', { cause });
  }
  if (encodeHex(sha256(blob)) !== String(backup.checksum).toLowerCase()) {
    throw new PrekeydError('CHECKSUM_MISMATCH', 'The backup blob does not match its checksum: it was altered or truncated');
  }

  const key = await deriveKey(password, salt, metadata.argon2Params, options.onProgress);
  let plaintext: Uint8Array;
  try {
    plaintext = gcm(key, nonce).decrypt(blob);
  } catch (cause) {
    throw new PrekeydError('WRONG_PASSWORD', 'The backup does not decrypt with this password', { cause });
  } finally {
    key.fill(0);
  }
  let content: { format?: unknown; version?: unknown; privateKeys?: unknown };
  try {
    content = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch (cause) {
    throw new PrekeydError('UNSUPPORTED_BACKUP', 'The decrypted backup is not JSON', { cause });
  } finally {
    plaintext.fill(0);
  }
  if (content?.format !== plaintextFormat || content.version !== 1 || !isPrivateKeys(content.privateKeys)) {
    throw new PrekeydError('UNSUPPORTED_BACKUP', 'The decrypted backup does not hold prekeyd private keys (format version 1)');
  }
  return content.privateKeys;
}
