/**
 * The tamper-evident audit log. Entries are written inside the transaction of the change
 * they describe and chained per project: each stores the previous entry's hash and its own,
 * so editing or deleting a stored entry breaks the chain that `verifyAuditChain` walks.
 */
import { sha256Hex } from '../crypto/keys.ts';
import type { AuditEntry, StoreTx } from '../store/types.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import type { Caller } from './principal.ts';

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
] as const;

export type AuditAction = (typeof auditActions)[number];

export const genesisHash = '0'.repeat(64);

export interface AuditInput {
  action: AuditAction;
  userId: string | null;
  details?: Record<string, unknown>;
  resource?: string;
  status?: 'SUCCESS' | 'FAILURE';
}

type HashedFields = Omit<AuditEntry, 'id' | 'hash'>;

/** The hash covers every stored field, in a fixed order. */
export function auditEntryHash(entry: HashedFields): string {
  const canonical = JSON.stringify([
    entry.prevHash,
    entry.projectId,
    entry.action,
    entry.resource,
    entry.userId,
    entry.details,
    entry.ipAddress,
    entry.actor,
    entry.status,
    entry.createdAt,
  ]);
  return sha256Hex(canonical);
}

/** The chain head each transaction has written, so a second entry in it needs no lookup. */
const headsWritten = new WeakMap<StoreTx, Map<string, string>>();

export async function appendAudit(tx: StoreTx, caller: Caller, now: Date, input: AuditInput): Promise<void> {
  let heads = headsWritten.get(tx);
  if (!heads) headsWritten.set(tx, (heads = new Map()));
  const prevHash = heads.get(caller.projectId) ?? (await tx.audit.head(caller.projectId)) ?? genesisHash;
  const fields: HashedFields = {
    projectId: caller.projectId,
    action: input.action,
    resource: input.resource ?? 'USER_KEY',
    userId: input.userId,
    details: input.details ?? {},
    ipAddress: caller.ipAddress,
    actor: caller.principal.actor,
    status: input.status ?? 'SUCCESS',
    createdAt: now.toISOString(),
    prevHash,
  };
  const hash = auditEntryHash(fields);
  await tx.audit.insert({ ...fields, hash });
  heads.set(caller.projectId, hash);
}

/**
 * Runs a domain operation; when it fails with a domain error, records the failure in its own
 * transaction (the operation's own was rolled back) and rethrows.
 */
export async function audited<T>(
  deps: Deps,
  caller: Caller,
  failure: Omit<AuditInput, 'status'>,
  operation: () => Promise<T>,
): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof AppError && error.status < 500 && error.code !== 'VALIDATION_ERROR') {
      const details = { ...failure.details, errorCode: error.code, error: error.message };
      await deps.store
        .transaction((tx) => appendAudit(tx, caller, deps.clock.now(), { ...failure, details, status: 'FAILURE' }))
        .catch(() => undefined);
    }
    throw error;
  }
}

export interface AuditChainReport {
  valid: boolean;
  entries: number;
  headHash: string;
  /** The id of the first entry that does not chain, when invalid. */
  brokenAt?: number;
}

export async function verifyAuditChain(deps: Deps, projectId: string): Promise<AuditChainReport> {
  return deps.store.transaction(async (tx) => {
    let prevHash = genesisHash;
    let entries = 0;
    let afterId = 0;
    for (;;) {
      const page = await tx.audit.scan(projectId, afterId, 1000);
      for (const entry of page) {
        entries++;
        if (entry.prevHash !== prevHash || auditEntryHash(entry) !== entry.hash) {
          return { valid: false, entries, headHash: prevHash, brokenAt: entry.id };
        }
        prevHash = entry.hash;
        afterId = entry.id;
      }
      if (page.length < 1000) return { valid: true, entries, headHash: prevHash };
    }
  });
}
