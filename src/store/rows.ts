/**
 * Rows to records, shared by both backends: the tables have the same columns on SQLite and
 * PostgreSQL, and each value arrives as text, number or (PostgreSQL) boolean. The SQL is in sql/.
 */
import type { ApiKeyRecord, AuditEntry, BackupRecord, KeySetRecord, PublicKeyRecord, SessionRecord, SignedKey, StoredEvent } from './types.ts';

export type Row = Record<string, unknown>;

export const textOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
export const jsonOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const parseJson = <T>(value: unknown): T => (value === null || value === undefined ? null : JSON.parse(String(value))) as T;
/** A LIKE pattern matching `term` anywhere, with its wildcards escaped (use with ESCAPE '\'). */
export const likePattern = (term: string): string => `%${term.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

/** Key-set fields that `update` may change, and their columns; JSON ones are stored as text. */
export const keySetColumns: Record<string, string> = {
  signedPreKey: 'signed_pre_key',
  signedPreKeyCreatedAt: 'signed_pre_key_created_at',
  lastResortPreKey: 'last_resort_pre_key',
  pqLastResortPreKey: 'pq_last_resort_pre_key',
  status: 'status',
  statusReason: 'status_reason',
  lastRotatedAt: 'last_rotated_at',
  revokedAt: 'revoked_at',
  deviceName: 'device_name',
  registrationId: 'registration_id',
  identityKey: 'identity_key',
  registeredAt: 'registered_at',
  userId: 'user_id',
  oneTimePreKeyCount: 'one_time_pre_key_count',
};
export const keySetJsonFields = new Set(['signedPreKey', 'lastResortPreKey', 'pqLastResortPreKey']);

export function toKeySet(row: Row): KeySetRecord {
  return {
    id: Number(row.id),
    keyFormat: row.key_format as KeySetRecord['keyFormat'],
    projectId: String(row.project_id),
    userId: String(row.user_id),
    deviceId: String(row.device_id),
    deviceName: textOrNull(row.device_name),
    registrationId: row.registration_id === null || row.registration_id === undefined ? null : Number(row.registration_id),
    identityKey: String(row.identity_key),
    signedPreKey: parseJson<SignedKey>(row.signed_pre_key),
    signedPreKeyCreatedAt: String(row.signed_pre_key_created_at),
    lastResortPreKey: parseJson(row.last_resort_pre_key),
    pqLastResortPreKey: parseJson(row.pq_last_resort_pre_key),
    status: row.status as KeySetRecord['status'],
    statusReason: textOrNull(row.status_reason),
    oneTimePreKeyCount: Number(row.one_time_pre_key_count),
    pqOneTimePreKeyCount: Number(row.pq_one_time_pre_key_count ?? 0),
    registeredAt: String(row.registered_at),
    lastRotatedAt: textOrNull(row.last_rotated_at),
    revokedAt: textOrNull(row.revoked_at),
  };
}

export function toBackup(row: Row): BackupRecord {
  return {
    projectId: String(row.project_id),
    userId: String(row.user_id),
    version: Number(row.version),
    encryptedBundle: String(row.encrypted_bundle),
    encryptionMetadata: JSON.parse(String(row.encryption_metadata)),
    checksum: String(row.checksum),
    createdAt: String(row.created_at),
  };
}

export function toSession(row: Row): SessionRecord {
  return {
    sessionId: String(row.session_id),
    projectId: String(row.project_id),
    initiatorUserId: String(row.initiator_user_id),
    responderUserId: String(row.responder_user_id),
    responderDeviceId: String(row.responder_device_id),
    initiatorIdentityKey: String(row.initiator_identity_key),
    initiatorEphemeralKey: String(row.initiator_ephemeral_key),
    signedPreKeyId: String(row.signed_pre_key_id),
    oneTimePreKeyId: textOrNull(row.one_time_pre_key_id),
    lastResortPreKeyId: textOrNull(row.last_resort_pre_key_id),
    pqPreKeyId: textOrNull(row.pq_pre_key_id),
    pqPreKeyLastResort: row.pq_pre_key_last_resort === true || Number(row.pq_pre_key_last_resort) === 1,
    kemCiphertext: textOrNull(row.kem_ciphertext),
    status: row.status as SessionRecord['status'],
    createdAt: String(row.created_at),
    expiresAt: String(row.expires_at),
    completedAt: textOrNull(row.completed_at),
  };
}

export function toAuditEntry(row: Row): AuditEntry {
  return {
    id: Number(row.id),
    projectId: String(row.project_id),
    action: String(row.action),
    resource: String(row.resource),
    userId: textOrNull(row.user_id),
    details: JSON.parse(String(row.details)),
    ipAddress: textOrNull(row.ip_address),
    actor: String(row.actor),
    status: row.status as AuditEntry['status'],
    createdAt: String(row.created_at),
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  };
}

export function toEvent(row: Row): StoredEvent {
  return {
    id: String(row.id),
    projectId: String(row.project_id),
    userId: String(row.user_id),
    event: String(row.event),
    data: JSON.parse(String(row.data)),
    createdAt: String(row.created_at),
  };
}

export function toApiKey(row: Row): ApiKeyRecord {
  return {
    uid: String(row.uid),
    projectId: String(row.project_id),
    hash: String(row.hash),
    prefix: String(row.prefix),
    description: textOrNull(row.description),
    acl: JSON.parse(String(row.acl)),
    userIds: JSON.parse(String(row.user_ids)),
    expiresAt: textOrNull(row.expires_at),
    // SQLite stores 0/1, PostgreSQL a boolean
    revoked: row.revoked === true || Number(row.revoked) === 1,
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
    lastUsedAt: textOrNull(row.last_used_at),
  };
}

export function toPublicKey(row: Row): PublicKeyRecord {
  return {
    id: String(row.id),
    projectId: String(row.project_id),
    ownerId: String(row.owner_id),
    name: String(row.name),
    keyType: String(row.key_type),
    publicKey: String(row.public_key),
    createdAt: String(row.created_at),
  };
}

/** Bytes a standard base64 text decodes to (the text was validated before it was stored). */
export function decodedBase64Length(text: string): number {
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  return Math.floor((text.length * 3) / 4) - padding;
}
