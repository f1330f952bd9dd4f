/**
 * The audit actions the log's filter offers: a copy of src/domain/audit.ts `auditActions` (that
 * module hashes with node:crypto and cannot run in a browser); test/console keeps them equal.
 */
export const auditActions = [
  'KEYS_REGISTERED',
  'KEYS_ROTATED',
  'KEYS_REVOKED',
  'KEYS_SUSPENDED',
  'KEYS_UNSUSPENDED',
  'BUNDLE_FETCHED',
  'BACKUP_CREATED',
  'BACKUP_UPDATED',
  'BACKUP_RECOVERED',
  'SHARED_SECRET_INITIATED',
  'SHARED_SECRET_COMPLETED',
  'SHARED_SECRET_CIPHERTEXT_SENT',
  'KEY_VERIFIED',
  'PREKEY_CONSUMED',
  'PREKEYS_REPLENISHED',
  'API_KEY_CREATED',
  'API_KEY_UPDATED',
  'API_KEY_DELETED',
  'PUBLIC_KEY_ADDED',
  'PUBLIC_KEY_GENERATED',
  'PUBLIC_KEY_DELETED',
  'REQUEST_REFUSED',
  'REFUSALS_SUMMARY',
  'ANCHOR_CREATED',
] as const;
