/**
 * The tamper-evident audit log. Entries are written inside the transaction of the change
 * they describe and chained per project: each stores the previous entry's hash and its own,
 * so editing or deleting a stored entry breaks the chain that `verifyAuditChain` walks.
 */
import { sha256Hex } from '../crypto/keys.ts';
import { Mutex } from '../store/mutex.ts';
import type { AuditEntry, Store, StoreTx } from '../store/types.ts';
import type { Deps } from './deps.ts';
import { AppError } from './errors.ts';
import type { Caller } from './principal.ts';

export { type AuditAction, auditActions } from './audit-actions.ts';
import type { AuditAction } from './audit-actions.ts';

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

/** Errors `audited` has recorded, so that the HTTP layer's refusal log does not record them twice. */
const alreadyAudited = new WeakSet<object>();
export const wasAudited = (error: object): boolean => alreadyAudited.has(error);

/**
 * Runs a domain operation; when it fails with a domain error, records the failure in its own
 * transaction (the operation's own was rolled back) and rethrows.
 */
export async function audited<T>(deps: Deps, caller: Caller, failure: Omit<AuditInput, 'status'>, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof AppError && error.status < 500 && error.code !== 'UNAUTHORIZED' && error.code !== 'RATE_LIMITED') {
      const details = { ...failure.details, errorCode: error.code, error: error.message };
      await deps.store.transaction((tx) => appendAudit(tx, caller, deps.clock.now(), { ...failure, details, status: 'FAILURE' })).catch(() => undefined);
      alreadyAudited.add(error);
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

/** Entries read per transaction: short enough that other requests are served between pages. */
const verifyPageSize = 500;
/** Entries hashed between two turns of the event loop (about a millisecond of work). */
const hashesBetweenYields = 100;
const yieldToOthers = () => new Promise((resolve) => setImmediate(resolve));

/** Running verifications (one per project, shared by requests that arrive meanwhile) and the lock that runs one scan at a time. */
const verifications = new WeakMap<Store, { running: Map<string, Promise<AuditChainReport>>; scans: Mutex }>();

/**
 * Walks the project's chain from its first entry to the newest one at the start, in pages, each
 * read in its own short transaction and hashed outside it, yielding to other requests between
 * pages. The chain is append-only, so pages read at different moments still form one chain; the
 * report covers every entry up to the newest one when the walk started. Concurrent verifications
 * of a project share one walk, and one walk runs at a time per process, so that asking often
 * costs no more than one scan at a time.
 */
export function verifyAuditChain(deps: Deps, projectId: string): Promise<AuditChainReport> {
  let state = verifications.get(deps.store);
  if (!state) verifications.set(deps.store, (state = { running: new Map(), scans: new Mutex() }));
  const { running, scans } = state;
  let report = running.get(projectId);
  if (!report) {
    report = (async () => {
      const release = await scans.acquire();
      try {
        return await walkChain(deps, projectId);
      } finally {
        release();
      }
    })().finally(() => running.delete(projectId));
    running.set(projectId, report);
  }
  return report;
}

async function walkChain(deps: Deps, projectId: string): Promise<AuditChainReport> {
  const lastId = await deps.store.transaction((tx) => tx.audit.lastId(projectId));
  let prevHash = genesisHash;
  let entries = 0;
  let afterId = 0;
  while (afterId < lastId) {
    const page = await deps.store.transaction((tx) => tx.audit.scan(projectId, afterId, verifyPageSize));
    for (const [index, entry] of page.entries()) {
      if (index > 0 && index % hashesBetweenYields === 0) await yieldToOthers();
      if (entry.id > lastId) return { valid: true, entries, headHash: prevHash };
      entries++;
      if (entry.prevHash !== prevHash || auditEntryHash(entry) !== entry.hash) {
        return { valid: false, entries, headHash: prevHash, brokenAt: entry.id };
      }
      prevHash = entry.hash;
      afterId = entry.id;
    }
    if (page.length < verifyPageSize) break;
    await yieldToOthers();
  }
  return { valid: true, entries, headHash: prevHash };
}
