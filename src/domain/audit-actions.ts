/**
 * Every action an audit entry can record. Its own module with no imports, so that the console
 * (which runs in a browser, where audit.ts's node:crypto hashing cannot) offers the same list.
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
  // A request refused before any operation of the table above ran (refusals.ts).
  'REQUEST_REFUSED',
  // Refusals counted rather than audited one by one: 401s, 429s, and past a key's budget.
  'REFUSALS_SUMMARY',
  'ANCHOR_CREATED',
] as const;

export type AuditAction = (typeof auditActions)[number];
