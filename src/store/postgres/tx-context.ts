/** What the repositories of one PostgreSQL transaction share. */
import type { AuditEntry, StoredEvent } from '../types.ts';
import type { SqlRunner } from '../sql/runner.ts';
import type { QueryClient, Row, SqlValue } from './query-client.ts';
import { pgSqlRunner } from './sql-runner.ts';

export interface TxContext {
  client: QueryClient;
  /** The same client for the shared repositories (src/store/sql). */
  sql: SqlRunner;
  /** Events appended in this attempt, for the NOTIFY before COMMIT. */
  appended: StoredEvent[];
  /** Projects whose write lock this transaction holds. */
  lockedProjects: Set<string>;
  /** Newest audit hash per locked project: valid until COMMIT, since the lock is held until then. */
  auditHeads: Map<string, string | undefined>;
  /** Audit entries not yet sent: written with the next audit read or before COMMIT, in one statement. */
  pendingAudit: Array<Omit<AuditEntry, 'id'>>;
  /** NOTIFY channel of this schema's events. */
  channel: string;
}

export function newTxContext(client: QueryClient, channel: string): TxContext {
  return { client, sql: pgSqlRunner(client), appended: [], lockedProjects: new Set(), auditHeads: new Map(), pendingAudit: [], channel };
}

/**
 * The per-project write lock, held until the transaction ends. It guards both the audit chain
 * (a new entry must chain onto the newest committed one) and event ids (committed in id order
 * within a project, so that readers going by "id > last seen" never skip one). One lock for
 * both: every transaction that emits events also audits, and two locks could deadlock.
 */
export async function lockProject(ctx: TxContext, projectId: string): Promise<void> {
  if (ctx.lockedProjects.has(projectId)) return;
  await ctx.client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`prekeyd:project:${projectId}`]);
  ctx.lockedProjects.add(projectId);
}

/** Locks the project (same key as lockProject) and returns its newest audit hash, in one round trip. */
export async function lockAuditHead(ctx: TxContext, projectId: string): Promise<string | undefined> {
  if (ctx.auditHeads.has(projectId)) return ctx.auditHeads.get(projectId);
  const row = await first(ctx.client, 'SELECT lock_project_audit_head($1) AS hash', [projectId]);
  const head = row?.hash === null || row?.hash === undefined ? undefined : String(row.hash);
  ctx.lockedProjects.add(projectId);
  ctx.auditHeads.set(projectId, head);
  return head;
}

export async function rows<R extends Row = Row>(client: QueryClient, text: string, params: SqlValue[] = []): Promise<R[]> {
  return (await client.query<R>(text, params)).rows;
}

export async function first<R extends Row = Row>(client: QueryClient, text: string, params: SqlValue[] = []): Promise<R | undefined> {
  return (await client.query<R>(text, params)).rows[0];
}

/** `$1, $2, …` starting after `offset` parameters. */
export const placeholders = (count: number, offset = 0): string => Array.from({ length: count }, (_, index) => `$${offset + index + 1}`).join(', ');
