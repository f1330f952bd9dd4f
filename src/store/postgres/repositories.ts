/** Backups, sessions, audit, events, API keys, public keys and settings on PostgreSQL (semantics of sqljs/repositories.ts). */
import type {
  ApiKeyRecord,
  ApiKeyRepository,
  AuditEntry,
  AuditQuery,
  AuditRepository,
  BackupRecord,
  BackupRepository,
  EventRepository,
  PublicKeyRecord,
  PublicKeyRepository,
  SessionRecord,
  SessionRepository,
  SettingsRepository,
  StoredEvent,
} from '../types.ts';
import type { SqlValue } from './query-client.ts';
import { decodedBase64Length, likePattern, toApiKey, toAuditEntry, toBackup, toEvent, toPublicKey, toSession } from '../rows.ts';
import { first, lockAuditHead, lockProject, placeholders, rows, type TxContext } from './tx-context.ts';


/** A WHERE clause built from optional filters, numbering parameters as it goes. */
class Filter {
  readonly params: SqlValue[] = [];
  private readonly conditions: string[] = [];
  add(condition: (placeholder: string) => string, value: SqlValue): this {
    this.params.push(value);
    this.conditions.push(condition(`$${this.params.length}`));
    return this;
  }
  next(value: SqlValue): string {
    return `$${this.params.push(value)}`;
  }
  get sql(): string {
    return this.conditions.length === 0 ? 'TRUE' : this.conditions.join(' AND ');
  }
}

async function count(ctx: TxContext, table: string, filter: Filter): Promise<number> {
  return Number((await first(ctx.client, `SELECT COUNT(*) AS n FROM ${table} WHERE ${filter.sql}`, filter.params))?.n ?? 0);
}


export class PgBackups implements BackupRepository {
  constructor(private readonly ctx: TxContext) {}

  async latest(projectId: string, userId: string) {
    const row = await first(this.ctx.client, 'SELECT * FROM backups WHERE project_id = $1 AND user_id = $2 ORDER BY version DESC LIMIT 1', [projectId, userId]);
    return row && toBackup(row);
  }

  async latestVersion(projectId: string, userId: string) {
    const row = await first(this.ctx.client, 'SELECT MAX(version) AS v FROM backups WHERE project_id = $1 AND user_id = $2', [projectId, userId]);
    return Number(row?.v ?? 0);
  }

  async get(projectId: string, userId: string, version: number) {
    const row = await first(this.ctx.client, 'SELECT * FROM backups WHERE project_id = $1 AND user_id = $2 AND version = $3', [projectId, userId, version]);
    return row && toBackup(row);
  }

  async insert(backup: BackupRecord) {
    await this.ctx.client.query(
      'INSERT INTO backups (project_id, user_id, version, encrypted_bundle, encryption_metadata, checksum, created_at, size_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
      [
        backup.projectId, backup.userId, backup.version, backup.encryptedBundle, JSON.stringify(backup.encryptionMetadata), backup.checksum,
        backup.createdAt, decodedBase64Length(backup.encryptedBundle),
      ],
    );
  }

  async pruneVersions(projectId: string, userId: string, keep: number) {
    const result = await this.ctx.client.query(
      `DELETE FROM backups WHERE project_id = $1 AND user_id = $2 AND version <= (SELECT MAX(version) FROM backups WHERE project_id = $1 AND user_id = $2) - $3`,
      [projectId, userId, keep],
    );
    return result.rowCount;
  }

  async storedBytes(projectId: string) {
    const row = await first(this.ctx.client, 'SELECT COALESCE(SUM(size_bytes), 0) AS n FROM backups WHERE project_id = $1', [projectId]);
    return Number(row?.n ?? 0);
  }
}


export class PgSessions implements SessionRepository {
  constructor(private readonly ctx: TxContext) {}

  async insert(session: SessionRecord) {
    await this.ctx.client.query(
      `INSERT INTO sessions (session_id, project_id, initiator_user_id, responder_user_id, responder_device_id, initiator_identity_key,
        initiator_ephemeral_key, signed_pre_key_id, one_time_pre_key_id, last_resort_pre_key_id, pq_pre_key_id, pq_pre_key_last_resort,
        kem_ciphertext, status, created_at, expires_at, completed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [
        session.sessionId, session.projectId, session.initiatorUserId, session.responderUserId, session.responderDeviceId,
        session.initiatorIdentityKey, session.initiatorEphemeralKey, session.signedPreKeyId, session.oneTimePreKeyId,
        session.lastResortPreKeyId, session.pqPreKeyId, session.pqPreKeyLastResort ? 1 : 0, session.kemCiphertext, session.status,
        session.createdAt, session.expiresAt, session.completedAt,
      ],
    );
  }

  async get(projectId: string, sessionId: string) {
    const row = await first(this.ctx.client, 'SELECT * FROM sessions WHERE project_id = $1 AND session_id = $2', [projectId, sessionId]);
    return row && toSession(row);
  }

  async complete(projectId: string, sessionId: string, completedAt: string) {
    await this.ctx.client.query(`UPDATE sessions SET status = 'completed', completed_at = $1 WHERE project_id = $2 AND session_id = $3`, [
      completedAt, projectId, sessionId,
    ]);
  }

  async setKemCiphertext(projectId: string, sessionId: string, kemCiphertext: string) {
    await this.ctx.client.query('UPDATE sessions SET kem_ciphertext = $1 WHERE project_id = $2 AND session_id = $3', [kemCiphertext, projectId, sessionId]);
  }

  async peersOf(projectId: string, userId: string, now: string) {
    const found = await rows(
      this.ctx.client,
      `SELECT initiator_user_id AS peer FROM sessions WHERE project_id = $1 AND responder_user_id = $2 AND expires_at > $3
       UNION SELECT responder_user_id AS peer FROM sessions WHERE project_id = $1 AND initiator_user_id = $2 AND expires_at > $3`,
      [projectId, userId, now],
    );
    return found.map((row) => String(row.peer)).filter((peer) => peer !== userId);
  }

  async deleteExpired(before: string) {
    return (await this.ctx.client.query('DELETE FROM sessions WHERE expires_at <= $1', [before])).rowCount;
  }

  async signedPreKeysInUse(projectId: string, responderUserId: string, responderDeviceId: string, now: string) {
    const found = await rows(
      this.ctx.client,
      'SELECT DISTINCT signed_pre_key_id AS id FROM sessions WHERE project_id = $1 AND responder_user_id = $2 AND responder_device_id = $3 AND expires_at > $4',
      [projectId, responderUserId, responderDeviceId, now],
    );
    return found.map((row) => String(row.id));
  }
}


/** Writes the queued audit entries, in order (ids follow the chain). */
export async function flushAudit(ctx: TxContext): Promise<void> {
  if (ctx.pendingAudit.length === 0) return;
  const entries = ctx.pendingAudit.splice(0);
  const values = entries.map((_, index) => `(${placeholders(11, index * 11)})`).join(', ');
  await ctx.client.query(
    `INSERT INTO audit_log (project_id, action, resource, user_id, details, ip_address, actor, status, created_at, prev_hash, hash) VALUES ${values}`,
    entries.flatMap((entry) => [
      entry.projectId, entry.action, entry.resource, entry.userId, JSON.stringify(entry.details), entry.ipAddress,
      entry.actor, entry.status, entry.createdAt, entry.prevHash, entry.hash,
    ]),
  );
}

export class PgAudit implements AuditRepository {
  constructor(private readonly ctx: TxContext) {}

  /** Takes the project's write lock first, so the head read stays the head until this transaction commits. */
  async head(projectId: string) {
    return lockAuditHead(this.ctx, projectId);
  }

  /**
   * Queued, not sent: the entries of a transaction go out as one INSERT before COMMIT (or before
   * an audit read), which saves round trips while the project's lock is held. The head cache
   * makes a following head() see this entry.
   */
  async insert(entry: Omit<AuditEntry, 'id'>) {
    await lockProject(this.ctx, entry.projectId); // ids must follow chain order even if head() was skipped
    this.ctx.auditHeads.set(entry.projectId, entry.hash);
    this.ctx.pendingAudit.push(entry);
  }

  async query(query: AuditQuery) {
    await flushAudit(this.ctx);
    const filter = new Filter().add((p) => `project_id = ${p}`, query.projectId);
    if (query.userId !== undefined) filter.add((p) => `user_id = ${p}`, query.userId);
    if (query.action !== undefined) filter.add((p) => `action = ${p}`, query.action);
    if (query.startDate !== undefined) filter.add((p) => `created_at >= ${p}`, query.startDate);
    if (query.endDate !== undefined) filter.add((p) => `created_at <= ${p}`, query.endDate);
    const total = await count(this.ctx, 'audit_log', filter);
    const page = await rows(
      this.ctx.client,
      `SELECT * FROM audit_log WHERE ${filter.sql} ORDER BY id DESC LIMIT ${filter.next(query.limit)} OFFSET ${filter.next(query.offset)}`,
      filter.params,
    );
    return { items: page.map(toAuditEntry), total };
  }

  async scan(projectId: string, afterId: number, limit: number) {
    await flushAudit(this.ctx);
    const page = await rows(this.ctx.client, 'SELECT * FROM audit_log WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3', [projectId, afterId, limit]);
    return page.map(toAuditEntry);
  }

  async lastId(projectId: string) {
    await flushAudit(this.ctx);
    const [row] = await rows(this.ctx.client, 'SELECT MAX(id) AS id FROM audit_log WHERE project_id = $1', [projectId]);
    return Number(row?.id ?? 0);
  }
}


export class PgEvents implements EventRepository {
  constructor(private readonly ctx: TxContext) {}

  /**
   * Under the project's write lock, ids are drawn and committed in the same order, so a reader
   * that has seen id N of a project will never later find a newly committed id below N.
   * `event_heads` moves along in the same statement, and so does the NOTIFY (sent at COMMIT;
   * PostgreSQL folds identical notifications of one transaction into one).
   */
  async append(event: Omit<StoredEvent, 'id'>) {
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
    this.ctx.appended.push(stored);
    return stored;
  }

  /** As append, for many events in one round trip (a claim's alerts for a hundred devices). */
  async appendMany(events: Array<Omit<StoredEvent, 'id'>>) {
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
    this.ctx.appended.push(...stored);
    return stored;
  }

  async listAfter(projectId: string, userIds: string[], afterId: string, limit: number) {
    // Ids are decimal strings; anything else compares as the embedded store's Number(afterId) does.
    const after = Math.floor(Number(afterId));
    if (userIds.length === 0 || Number.isNaN(after) || after >= Number.MAX_SAFE_INTEGER) return [];
    const found = await rows(
      this.ctx.client,
      `SELECT * FROM events WHERE project_id = $1 AND user_id IN (${placeholders(userIds.length, 3)}) AND id > $2 ORDER BY id LIMIT $3`,
      [projectId, Math.max(after, -1), limit, ...userIds],
    );
    return found.map(toEvent);
  }

  async latestId(projectId: string) {
    const row = await first(this.ctx.client, 'SELECT MAX(id) AS id FROM events WHERE project_id = $1', [projectId]);
    return String(row?.id ?? 0);
  }

  async deleteOlderThan(before: string) {
    return (await this.ctx.client.query('DELETE FROM events WHERE created_at < $1', [before])).rowCount;
  }
}


export class PgApiKeys implements ApiKeyRepository {
  constructor(private readonly ctx: TxContext) {}

  async insert(key: ApiKeyRecord) {
    await this.ctx.client.query(
      `INSERT INTO api_keys (uid, project_id, hash, prefix, description, acl, user_ids, expires_at, revoked, created_at, updated_at, last_used_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        key.uid, key.projectId, key.hash, key.prefix, key.description, JSON.stringify(key.acl), JSON.stringify(key.userIds),
        key.expiresAt, key.revoked, key.createdAt, key.updatedAt, key.lastUsedAt,
      ],
    );
  }

  async findByHash(hash: string) {
    const row = await first(this.ctx.client, 'SELECT * FROM api_keys WHERE hash = $1', [hash]);
    return row && toApiKey(row);
  }

  async get(uid: string) {
    const row = await first(this.ctx.client, 'SELECT * FROM api_keys WHERE uid = $1', [uid]);
    return row && toApiKey(row);
  }

  async list(query: { projectId?: string; search?: string; offset: number; limit: number }) {
    const filter = new Filter();
    if (query.projectId !== undefined) filter.add((p) => `project_id = ${p}`, query.projectId);
    // SQLite's LIKE ignores ASCII case; ILIKE under the C collation does the same.
    if (query.search) filter.add((p) => `description ILIKE ${p} ESCAPE '\\'`, likePattern(query.search));
    const total = await count(this.ctx, 'api_keys', filter);
    const page = await rows(
      this.ctx.client,
      `SELECT * FROM api_keys WHERE ${filter.sql} ORDER BY created_at DESC, seq DESC LIMIT ${filter.next(query.limit)} OFFSET ${filter.next(query.offset)}`,
      filter.params,
    );
    return { items: page.map(toApiKey), total };
  }

  async update(uid: string, changes: Partial<Pick<ApiKeyRecord, 'description' | 'acl' | 'userIds' | 'revoked' | 'updatedAt'>>) {
    const columns: Array<[string, SqlValue]> = [];
    if (changes.description !== undefined) columns.push(['description', changes.description]);
    if (changes.acl !== undefined) columns.push(['acl', JSON.stringify(changes.acl)]);
    if (changes.userIds !== undefined) columns.push(['user_ids', JSON.stringify(changes.userIds)]);
    if (changes.revoked !== undefined) columns.push(['revoked', changes.revoked]);
    if (changes.updatedAt !== undefined) columns.push(['updated_at', changes.updatedAt]);
    if (columns.length === 0) return;
    const assignments = columns.map(([column], index) => `${column} = $${index + 1}`).join(', ');
    await this.ctx.client.query(`UPDATE api_keys SET ${assignments} WHERE uid = $${columns.length + 1}`, [...columns.map(([, value]) => value), uid]);
  }

  async touch(uid: string, lastUsedAt: string) {
    await this.ctx.client.query('UPDATE api_keys SET last_used_at = $1 WHERE uid = $2', [lastUsedAt, uid]);
  }

  async delete(uid: string) {
    return (await this.ctx.client.query('DELETE FROM api_keys WHERE uid = $1', [uid])).rowCount > 0;
  }
}


export class PgPublicKeys implements PublicKeyRepository {
  constructor(private readonly ctx: TxContext) {}

  async insert(key: PublicKeyRecord) {
    await this.ctx.client.query('INSERT INTO public_keys (id, project_id, owner_id, name, key_type, public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
      key.id, key.projectId, key.ownerId, key.name, key.keyType, key.publicKey, key.createdAt,
    ]);
  }

  async get(projectId: string, id: string) {
    const row = await first(this.ctx.client, 'SELECT * FROM public_keys WHERE project_id = $1 AND id = $2', [projectId, id]);
    return row && toPublicKey(row);
  }

  async findByName(projectId: string, ownerId: string, name: string) {
    const row = await first(this.ctx.client, 'SELECT * FROM public_keys WHERE project_id = $1 AND owner_id = $2 AND name = $3', [projectId, ownerId, name]);
    return row && toPublicKey(row);
  }

  async list(query: { projectId: string; ownerId?: string; offset: number; limit: number }) {
    const filter = new Filter().add((p) => `project_id = ${p}`, query.projectId);
    if (query.ownerId !== undefined) filter.add((p) => `owner_id = ${p}`, query.ownerId);
    const total = await count(this.ctx, 'public_keys', filter);
    const page = await rows(
      this.ctx.client,
      `SELECT * FROM public_keys WHERE ${filter.sql} ORDER BY created_at DESC, seq DESC LIMIT ${filter.next(query.limit)} OFFSET ${filter.next(query.offset)}`,
      filter.params,
    );
    return { items: page.map(toPublicKey), total };
  }

  async delete(projectId: string, id: string) {
    return (await this.ctx.client.query('DELETE FROM public_keys WHERE project_id = $1 AND id = $2', [projectId, id])).rowCount > 0;
  }
}

export class PgSettings implements SettingsRepository {
  constructor(private readonly ctx: TxContext) {}

  async get(name: string) {
    const row = await first(this.ctx.client, 'SELECT value FROM settings WHERE name = $1', [name]);
    return row ? String(row.value) : undefined;
  }

  async set(name: string, value: string) {
    await this.ctx.client.query('INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }
}
