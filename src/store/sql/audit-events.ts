/**
 * The audit log and the event log, for both backends. Their writes are where the backends differ
 * (PostgreSQL locks the project, batches audit entries and notifies other instances:
 * postgres/audit-events.ts); the SQL here is what the embedded store, whose transactions run one
 * at a time, runs as it is.
 */
import type { AuditEntry, AuditQuery, AuditRepository, EventRepository, StoredEvent } from '../types.ts';
import { textOrNull, toAuditEntry, toEvent } from '../rows.ts';
import { Filter, page, placeholders, type SqlRunner } from './runner.ts';

export class SqlAudit implements AuditRepository {
  constructor(protected readonly sql: SqlRunner) {}

  /** Called before every read of the log (PostgreSQL sends its queued entries first). */
  protected async beforeRead(): Promise<void> {}

  /** With one writer at a time, reading the head is enough to hold it. */
  async head(projectId: string): Promise<string | undefined> {
    return textOrNull((await this.sql.get('SELECT hash FROM audit_log WHERE project_id = ? ORDER BY id DESC LIMIT 1', [projectId]))?.hash ?? null) ?? undefined;
  }

  async insert(entry: Omit<AuditEntry, 'id'>): Promise<void> {
    await this.sql.run(`INSERT INTO audit_log (${auditColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, auditValues(entry));
  }

  async query(query: AuditQuery) {
    await this.beforeRead();
    const filter = new Filter().where('project_id = ?', query.projectId);
    if (query.userId !== undefined) filter.where('user_id = ?', query.userId);
    if (query.action !== undefined) filter.where('action = ?', query.action);
    if (query.startDate !== undefined) filter.where('created_at >= ?', query.startDate);
    if (query.endDate !== undefined) filter.where('created_at <= ?', query.endDate);
    return page(this.sql, { table: 'audit_log', filter, orderBy: 'id DESC', limit: query.limit, offset: query.offset }, toAuditEntry);
  }

  async scan(projectId: string, afterId: number, limit: number) {
    await this.beforeRead();
    return (await this.sql.all('SELECT * FROM audit_log WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?', [projectId, afterId, limit])).map(toAuditEntry);
  }

  async lastId(projectId: string) {
    await this.beforeRead();
    return Number((await this.sql.get('SELECT MAX(id) AS id FROM audit_log WHERE project_id = ?', [projectId]))?.id ?? 0);
  }
}

export const auditColumns = 'project_id, action, resource, user_id, details, ip_address, actor, status, created_at, prev_hash, hash';

export const auditValues = (entry: Omit<AuditEntry, 'id'>) => [
  entry.projectId,
  entry.action,
  entry.resource,
  entry.userId,
  JSON.stringify(entry.details),
  entry.ipAddress,
  entry.actor,
  entry.status,
  entry.createdAt,
  entry.prevHash,
  entry.hash,
];

export class SqlEvents implements EventRepository {
  constructor(
    protected readonly sql: SqlRunner,
    /** The events this transaction appended, published once it is durable. */
    protected readonly appended: StoredEvent[],
  ) {}

  async append(event: Omit<StoredEvent, 'id'>): Promise<StoredEvent> {
    const [row] = await this.sql.returning('INSERT INTO events (project_id, user_id, event, data, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id', [
      event.projectId,
      event.userId,
      event.event,
      JSON.stringify(event.data),
      event.createdAt,
    ]);
    const stored = { ...event, id: String(row!.id) };
    this.appended.push(stored);
    return stored;
  }

  async appendMany(events: Array<Omit<StoredEvent, 'id'>>): Promise<StoredEvent[]> {
    const stored: StoredEvent[] = [];
    for (const event of events) stored.push(await this.append(event));
    return stored;
  }

  async listAfter(projectId: string, userIds: string[], afterId: string, limit: number) {
    // Ids are decimal strings; anything else compares as its number would, and nothing is above the largest.
    const after = Math.floor(Number(afterId));
    if (userIds.length === 0 || Number.isNaN(after) || after >= Number.MAX_SAFE_INTEGER) return [];
    const rows = await this.sql.all(
      `SELECT * FROM events WHERE project_id = ? AND user_id IN (${placeholders(userIds.length)}) AND id > ? ORDER BY id LIMIT ?`,
      [projectId, ...userIds, Math.max(after, -1), limit],
    );
    return rows.map(toEvent);
  }

  async latestId(projectId: string) {
    return String((await this.sql.get('SELECT MAX(id) AS id FROM events WHERE project_id = ?', [projectId]))?.id ?? 0);
  }

  async deleteOlderThan(before: string) {
    return (await this.sql.run('DELETE FROM events WHERE created_at < ?', [before])).changes;
  }
}
