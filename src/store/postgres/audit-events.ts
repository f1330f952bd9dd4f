/**
 * The audit and event logs on PostgreSQL: the shared reads (sql/audit-events.ts), and writes that
 * take the project's write lock (tx-context.ts), batch audit entries and notify other instances.
 */
import type { AuditEntry, StoredEvent } from '../types.ts';
import { auditColumns, auditValues, SqlAudit, SqlEvents } from '../sql/audit-events.ts';
import { first, lockAuditHead, lockProject, placeholders, rows, type TxContext } from './tx-context.ts';

/** Writes the queued audit entries, in order (ids follow the chain). */
export async function flushAudit(ctx: TxContext): Promise<void> {
  if (ctx.pendingAudit.length === 0) return;
  const entries = ctx.pendingAudit.splice(0);
  const values = entries.map((_, index) => `(${placeholders(11, index * 11)})`).join(', ');
  await ctx.client.query(`INSERT INTO audit_log (${auditColumns}) VALUES ${values}`, entries.flatMap(auditValues));
}

export class PgAudit extends SqlAudit {
  constructor(private readonly ctx: TxContext) {
    super(ctx.sql);
  }

  protected override beforeRead(): Promise<void> {
    return flushAudit(this.ctx);
  }

  /** Takes the project's write lock first, so the head read stays the head until this transaction commits. */
  override async head(projectId: string) {
    return lockAuditHead(this.ctx, projectId);
  }

  /**
   * Queued, not sent: the entries of a transaction go out as one INSERT before COMMIT (or before
   * an audit read), which saves round trips while the project's lock is held. The head cache
   * makes a following head() see this entry.
   */
  override async insert(entry: Omit<AuditEntry, 'id'>) {
    await lockProject(this.ctx, entry.projectId); // ids must follow chain order even if head() was skipped
    this.ctx.auditHeads.set(entry.projectId, entry.hash);
    this.ctx.pendingAudit.push(entry);
  }
}

export class PgEvents extends SqlEvents {
  constructor(private readonly ctx: TxContext) {
    super(ctx.sql, ctx.appended);
  }

  /**
   * Under the project's write lock, ids are drawn and committed in the same order, so a reader
   * that has seen id N of a project will never later find a newly committed id below N.
   * `event_heads` moves along in the same statement, and so does the NOTIFY (sent at COMMIT;
   * PostgreSQL folds identical notifications of one transaction into one).
   */
  override async append(event: Omit<StoredEvent, 'id'>) {
    await lockProject(this.ctx, event.projectId);
    const row = await first(
      this.ctx.client,
      `WITH inserted AS (
         INSERT INTO events (project_id, user_id, event, data, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id
       ), head AS (
         INSERT INTO event_heads (project_id, last_id) SELECT $1, id FROM inserted
         ON CONFLICT (project_id) DO UPDATE SET last_id = excluded.last_id
       )
       SELECT id, pg_notify($6, $1) FROM inserted`,
      [event.projectId, event.userId, event.event, JSON.stringify(event.data), event.createdAt, this.ctx.channel],
    );
    const stored = { ...event, id: String(row!.id) };
    this.appended.push(stored);
    return stored;
  }

  /** As append, for many events in one round trip (a claim's alerts for a hundred devices). */
  override async appendMany(events: Array<Omit<StoredEvent, 'id'>>) {
    if (events.length <= 1) return events.length === 0 ? [] : [await this.append(events[0]!)];
    for (const projectId of [...new Set(events.map((event) => event.projectId))].sort()) await lockProject(this.ctx, projectId);
    const values = events.map((_, index) => `(${placeholders(5, 1 + index * 5)}, ${index})`).join(', ');
    const found = await rows(
      this.ctx.client,
      `WITH inserted AS (
         INSERT INTO events (project_id, user_id, event, data, created_at)
         SELECT project_id, user_id, event, data, created_at
         FROM (VALUES ${values}) AS given (project_id, user_id, event, data, created_at, position) ORDER BY position
         RETURNING id, project_id
       ), head AS (
         INSERT INTO event_heads (project_id, last_id) SELECT project_id, MAX(id) FROM inserted GROUP BY project_id
         ON CONFLICT (project_id) DO UPDATE SET last_id = excluded.last_id
       )
       SELECT id, pg_notify($1, project_id) FROM inserted ORDER BY id`,
      [this.ctx.channel, ...events.flatMap((event) => [event.projectId, event.userId, event.event, JSON.stringify(event.data), event.createdAt])],
    );
    const stored = events.map((event, index) => ({ ...event, id: String(found[index]!.id) }));
    this.appended.push(...stored);
    return stored;
  }
}
