/**
 * Encrypted key backups. The blob is encrypted client-side (Argon2id + AES-256-GCM) and is
 * opaque here: it is checked against its checksum and size, stored, and handed back as sent.
 * It never appears in audit details or logs.
 */
import { decodeBase64 } from '../../packages/client/src/core/encoding.ts';
import { sha256Hex } from '../crypto/keys.ts';
import type { BackupRecord } from '../store/types.ts';
import { appendAudit, type AuditAction, audited } from './audit.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import { type Caller, requireActAs } from './principal.ts';
import { applyBackupRetention } from './quotas.ts';

export interface EncryptionMetadata {
  algorithm: string;
  argon2Params: { timeCost: number; memoryCost: number; parallelism: number };
  nonce: string;
  salt: string;
}

export interface StoreBackupInput {
  userId: string;
  /** Standard base64 of the encrypted blob. */
  encryptedBundle: string;
  encryptionMetadata: EncryptionMetadata;
  /** Hex SHA-256 of the decoded blob. */
  checksum: string;
  /** Optimistic concurrency: the version the client last saw (0 when it saw none). */
  expectedVersion?: number;
}

/** The decoded blob must fit the size cap and match its checksum (SPEC §3). */
function checkBlob(input: StoreBackupInput, maxBytes: number): number {
  const blob = decodeBase64(input.encryptedBundle);
  if (!blob) {
    throw new AppError('VALIDATION_ERROR', 'encryptedBundle must be standard base64', [{ field: 'encryptedBundle', message: 'must be standard base64' }]);
  }
  if (blob.length > maxBytes) {
    throw new AppError('PAYLOAD_TOO_LARGE', `The decoded backup is ${blob.length} bytes; at most ${maxBytes} are accepted`);
  }
  if (sha256Hex(blob) !== input.checksum.toLowerCase()) {
    throw new AppError('CHECKSUM_MISMATCH', 'checksum is not the SHA-256 of the decoded encryptedBundle', [
      { field: 'checksum', message: 'does not match the SHA-256 of the decoded encryptedBundle' },
    ]);
  }
  return blob.length;
}

export async function storeBackup(deps: Deps, caller: Caller, input: StoreBackupInput) {
  requireActAs(caller.principal, input.userId);
  // Mutable so that a failure is recorded as an update once we know a backup already exists.
  const failure: { action: AuditAction; userId: string; details: Record<string, unknown> } = {
    action: 'BACKUP_CREATED',
    userId: input.userId,
    details: { expectedVersion: input.expectedVersion ?? null },
  };
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const currentVersion = await tx.backups.latestVersion(caller.projectId, input.userId);
      failure.action = currentVersion > 0 ? 'BACKUP_UPDATED' : 'BACKUP_CREATED';
      const sizeBytes = checkBlob(input, deps.settings.maxBackupBytes);
      if (input.expectedVersion !== undefined && input.expectedVersion !== currentVersion) {
        throw new AppError('CONFLICT', `Backup version conflict: expected version ${input.expectedVersion}, current version is ${currentVersion}`);
      }
      const backup: BackupRecord = {
        projectId: caller.projectId,
        userId: input.userId,
        version: currentVersion + 1,
        encryptedBundle: input.encryptedBundle,
        encryptionMetadata: input.encryptionMetadata,
        checksum: input.checksum.toLowerCase(),
        createdAt: now.toISOString(),
      };
      await tx.backups.insert(backup);
      await applyBackupRetention(deps, tx, caller.projectId, input.userId);
      const details = { version: backup.version, sizeBytes, algorithm: input.encryptionMetadata.algorithm };
      await appendAudit(tx, caller, now, { action: failure.action, userId: input.userId, resource: 'KEY_BACKUP', details });
      return { version: backup.version, storedAt: backup.createdAt };
    }),
  );
}

export interface RecoverBackupInput {
  userId: string;
  /** A stored version; the latest when absent. */
  version?: number;
}

export async function recoverBackup(deps: Deps, caller: Caller, input: RecoverBackupInput) {
  requireActAs(caller.principal, input.userId);
  const failure = { action: 'BACKUP_RECOVERED', userId: input.userId, resource: 'KEY_BACKUP', details: { version: input.version ?? null } } as const;
  return audited(deps, caller, failure, () =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock.now();
      const backup =
        input.version === undefined
          ? await tx.backups.latest(caller.projectId, input.userId)
          : await tx.backups.get(caller.projectId, input.userId, input.version);
      if (!backup) {
        const which = input.version === undefined ? 'No backup' : `No backup version ${input.version}`;
        throw new AppError('NOT_FOUND', `${which} found for user ${input.userId}`);
      }
      const details = { version: backup.version };
      await appendAudit(tx, caller, now, { action: 'BACKUP_RECOVERED', userId: input.userId, resource: 'KEY_BACKUP', details });
      return {
        encryptedBundle: backup.encryptedBundle,
        encryptionMetadata: backup.encryptionMetadata as EncryptionMetadata,
        checksum: backup.checksum,
        version: backup.version,
        backedUpAt: backup.createdAt,
      };
    }),
  );
}
