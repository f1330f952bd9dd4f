/** Backups, sessions, audit, events, API keys, public keys and settings on the embedded store. */
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
import { likePattern, textOrNull, toApiKey, toAuditEntry, toBackup, toEvent, toPublicKey, toSession } from '../rows.ts';
import { Buffer } from 'node:buffer';
import type { BlobFiles } from './blob-files.ts';
import type { SqlParam, SqlTx } from './durable-database.ts';


function count(sql: SqlTx, query: string, params: SqlParam[]): number {
  return Number(sql.get(query, params)?.n ?? 0);
}

/** Rows keep a reference to the blob file (blob-files.ts); the bytes never enter the database. */
export class SqlJsBackups implements BackupRepository {
  constructor(
    private readonly sql: SqlTx,
    private readonly blobs: BlobFiles,
  ) {}

  private async withBlob(row: Record<string, SqlParam> | undefined): Promise<BackupRecord | undefined> {
    if (!row) return undefined;
    const backup = toBackup(row);
    if (row.blob_checksum !== null && row.blob_checksum !== undefined) {
      backup.encryptedBundle = Buffer.from(await this.blobs.read(String(row.blob_checksum))).toString('base64');
    }
    return backup;
  }

  async latest(projectId: string, userId: string) {
    return this.withBlob(this.sql.get('SELECT * FROM backups WHERE project_id = ? AND user_id = ? ORDER BY version DESC LIMIT 1', [projectId, userId]));
  }

  async latestVersion(projectId: string, userId: string) {
    return Number(this.sql.get('SELECT MAX(version) AS v FROM backups WHERE project_id = ? AND user_id = ?', [projectId, userId])?.v ?? 0);
  }

  async get(projectId: string, userId: string, version: number) {
    return this.withBlob(this.sql.get('SELECT * FROM backups WHERE project_id = ? AND user_id = ? AND version = ?', [projectId, userId, version]));
  }

  async insert(backup: BackupRecord) {
    const bytes = new Uint8Array(Buffer.from(backup.encryptedBundle, 'base64')); // validated as standard base64 by the domain
    const blobChecksum = await this.blobs.put(bytes); // durable before this transaction can commit
    this.sql.run(
      `INSERT INTO backups (project_id, user_id, version, encrypted_bundle, encryption_metadata, checksum, created_at, blob_checksum, size_bytes)
       VALUES (?, ?, ?, '', ?, ?, ?, ?, ?)`,
      [backup.projectId, backup.userId, backup.version, JSON.stringify(backup.encryptionMetadata), backup.checksum, backup.createdAt, blobChecksum, bytes.length],
    );
  }

  async pruneVersions(projectId: string, userId: string, keep: number) {
    return this.sql.run(
      `DELETE FROM backups WHERE project_id = ? AND user_id = ? AND version <= (SELECT MAX(version) FROM backups WHERE project_id = ? AND user_id = ?) - ?`,
      [projectId, userId, projectId, userId, keep],
    ).changes;
  }

  async storedBytes(projectId: string) {
    return Number(this.sql.get('SELECT COALESCE(SUM(size_bytes), 0) AS n FROM backups WHERE project_id = ?', [projectId])?.n ?? 0);
  }
}

export class SqlJsSessions implements SessionRepository {
  constructor(private readonly sql: SqlTx) {}

  async insert(session: SessionRecord) {
    this.sql.run(
      `INSERT INTO sessions (session_id, project_id, initiator_user_id, responder_user_id, responder_device_id, initiator_identity_key,
        initiator_ephemeral_key, signed_pre_key_id, one_time_pre_key_id, last_resort_pre_key_id, pq_pre_key_id, pq_pre_key_last_resort,
        kem_ciphertext, status, created_at, expires_at, completed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        session.sessionId, session.projectId, session.initiatorUserId, session.responderUserId, session.responderDeviceId,
        session.initiatorIdentityKey, session.initiatorEphemeralKey, session.signedPreKeyId, session.oneTimePreKeyId,
        session.lastResortPreKeyId, session.pqPreKeyId, session.pqPreKeyLastResort ? 1 : 0, session.kemCiphertext, session.status,
        session.createdAt, session.expiresAt, session.completedAt,
      ],
    );
  }

  async get(projectId: string, sessionId: string): Promise<SessionRecord | undefined> {
    const row = this.sql.get('SELECT * FROM sessions WHERE project_id = ? AND session_id = ?', [projectId, sessionId]);
    return row && toSession(row);
  }

  async complete(projectId: string, sessionId: string, completedAt: string) {
    this.sql.run(`UPDATE sessions SET status = 'completed', completed_at = ? WHERE project_id = ? AND session_id = ?`, [completedAt, projectId, sessionId]);
  }

  async setKemCiphertext(projectId: string, sessionId: string, kemCiphertext: string) {
    this.sql.run('UPDATE sessions SET kem_ciphertext = ? WHERE project_id = ? AND session_id = ?', [kemCiphertext, projectId, sessionId]);
  }

  async peersOf(projectId: string, userId: string, now: string): Promise<string[]> {
    return this.sql
      .all(
        `SELECT initiator_user_id AS peer FROM sessions WHERE project_id = ? AND responder_user_id = ? AND expires_at > ?
         UNION SELECT responder_user_id AS peer FROM sessions WHERE project_id = ? AND initiator_user_id = ? AND expires_at > ?`,
        [projectId, userId, now, projectId, userId, now],
      )
      .map((row) => String(row.peer))
      .filter((peer) => peer !== userId);
  }

  async deleteExpired(before: string) {
    return this.sql.run('DELETE FROM sessions WHERE expires_at <= ?', [before]).changes;
  }

  async signedPreKeysInUse(projectId: string, responderUserId: string, responderDeviceId: string, now: string) {
    return this.sql
      .all('SELECT DISTINCT signed_pre_key_id AS id FROM sessions WHERE project_id = ? AND responder_user_id = ? AND responder_device_id = ? AND expires_at > ?', [
        projectId, responderUserId, responderDeviceId, now,
      ])
      .map((row) => String(row.id));
  }
}


export class SqlJsAudit implements AuditRepository {
  constructor(private readonly sql: SqlTx) {}

  /** Transactions on the embedded store are serialised, so reading the head is enough to lock it. */
  async head(projectId: string) {
    return textOrNull(this.sql.get('SELECT hash FROM audit_log WHERE project_id = ? ORDER BY id DESC LIMIT 1', [projectId])?.hash ?? null) ?? undefined;
  }

  async insert(entry: Omit<AuditEntry, 'id'>) {
    this.sql.run(
      `INSERT INTO audit_log (project_id, action, resource, user_id, details, ip_address, actor, status, created_at, prev_hash, hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        entry.projectId, entry.action, entry.resource, entry.userId, JSON.stringify(entry.details), entry.ipAddress,
        entry.actor, entry.status, entry.createdAt, entry.prevHash, entry.hash,
      ],
    );
  }

  async query(query: AuditQuery) {
    const where = ['project_id = ?'];
    const params: SqlParam[] = [query.projectId];
    if (query.userId !== undefined) where.push('user_id = ?'), params.push(query.userId);
    if (query.action !== undefined) where.push('action = ?'), params.push(query.action);
    if (query.startDate !== undefined) where.push('created_at >= ?'), params.push(query.startDate);
    if (query.endDate !== undefined) where.push('created_at <= ?'), params.push(query.endDate);
    const filter = where.join(' AND ');
    const total = count(this.sql, `SELECT COUNT(*) AS n FROM audit_log WHERE ${filter}`, params);
    const rows = this.sql.all(`SELECT * FROM audit_log WHERE ${filter} ORDER BY id DESC LIMIT ? OFFSET ?`, [...params, query.limit, query.offset]);
    return { items: rows.map(toAuditEntry), total };
  }

  async scan(projectId: string, afterId: number, limit: number) {
    return this.sql.all('SELECT * FROM audit_log WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?', [projectId, afterId, limit]).map(toAuditEntry);
  }

  async lastId(projectId: string) {
    return Number(this.sql.get('SELECT MAX(id) AS id FROM audit_log WHERE project_id = ?', [projectId])?.id ?? 0);
  }
}


export class SqlJsEvents implements EventRepository {
  constructor(
    private readonly sql: SqlTx,
    private readonly appended: StoredEvent[],
  ) {}

  async append(event: Omit<StoredEvent, 'id'>) {
    const { lastInsertRowid } = this.sql.run('INSERT INTO events (project_id, user_id, event, data, created_at) VALUES (?, ?, ?, ?, ?)', [
      event.projectId, event.userId, event.event, JSON.stringify(event.data), event.createdAt,
    ]);
    const stored = { ...event, id: String(lastInsertRowid) };
    this.appended.push(stored);
    return stored;
  }

  async appendMany(events: Array<Omit<StoredEvent, 'id'>>) {
    const stored: StoredEvent[] = [];
    for (const event of events) stored.push(await this.append(event));
    return stored;
  }

  async listAfter(projectId: string, userIds: string[], afterId: string, limit: number) {
    if (userIds.length === 0) return [];
    const placeholders = userIds.map(() => '?').join(', ');
    return this.sql
      .all(`SELECT * FROM events WHERE project_id = ? AND user_id IN (${placeholders}) AND id > ? ORDER BY id LIMIT ?`, [
        projectId, ...userIds, Number(afterId), limit,
      ])
      .map(toEvent);
  }

  async latestId(projectId: string) {
    return String(this.sql.get('SELECT MAX(id) AS id FROM events WHERE project_id = ?', [projectId])?.id ?? 0);
  }

  async deleteOlderThan(before: string) {
    return this.sql.run('DELETE FROM events WHERE created_at < ?', [before]).changes;
  }
}


export class SqlJsApiKeys implements ApiKeyRepository {
  constructor(private readonly sql: SqlTx) {}

  async insert(key: ApiKeyRecord) {
    this.sql.run(
      `INSERT INTO api_keys (uid, project_id, hash, prefix, description, acl, user_ids, expires_at, revoked, created_at, updated_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        key.uid, key.projectId, key.hash, key.prefix, key.description, JSON.stringify(key.acl), JSON.stringify(key.userIds),
        key.expiresAt, key.revoked ? 1 : 0, key.createdAt, key.updatedAt, key.lastUsedAt,
      ],
    );
  }

  async findByHash(hash: string) {
    const row = this.sql.get('SELECT * FROM api_keys WHERE hash = ?', [hash]);
    return row && toApiKey(row);
  }

  async get(uid: string) {
    const row = this.sql.get('SELECT * FROM api_keys WHERE uid = ?', [uid]);
    return row && toApiKey(row);
  }

  async list(query: { projectId?: string; search?: string; offset: number; limit: number }) {
    const where = ['1 = 1'];
    const params: SqlParam[] = [];
    if (query.projectId !== undefined) where.push('project_id = ?'), params.push(query.projectId);
    if (query.search) where.push(`description LIKE ? ESCAPE '\\'`), params.push(likePattern(query.search));
    const filter = where.join(' AND ');
    const total = count(this.sql, `SELECT COUNT(*) AS n FROM api_keys WHERE ${filter}`, params);
    const rows = this.sql.all(`SELECT * FROM api_keys WHERE ${filter} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`, [
      ...params, query.limit, query.offset,
    ]);
    return { items: rows.map(toApiKey), total };
  }

  async update(uid: string, changes: Partial<Pick<ApiKeyRecord, 'description' | 'acl' | 'userIds' | 'revoked' | 'updatedAt'>>) {
    const columns: Record<string, [string, SqlParam]> = {};
    if (changes.description !== undefined) columns.description = ['description', changes.description];
    if (changes.acl !== undefined) columns.acl = ['acl', JSON.stringify(changes.acl)];
    if (changes.userIds !== undefined) columns.userIds = ['user_ids', JSON.stringify(changes.userIds)];
    if (changes.revoked !== undefined) columns.revoked = ['revoked', changes.revoked ? 1 : 0];
    if (changes.updatedAt !== undefined) columns.updatedAt = ['updated_at', changes.updatedAt];
    const entries = Object.values(columns);
    if (entries.length === 0) return;
    this.sql.run(`UPDATE api_keys SET ${entries.map(([column]) => `${column} = ?`).join(', ')} WHERE uid = ?`, [
      ...entries.map(([, value]) => value), uid,
    ]);
  }

  async touch(uid: string, lastUsedAt: string) {
    this.sql.run('UPDATE api_keys SET last_used_at = ? WHERE uid = ?', [lastUsedAt, uid]);
  }

  async delete(uid: string) {
    return this.sql.run('DELETE FROM api_keys WHERE uid = ?', [uid]).changes > 0;
  }
}


export class SqlJsPublicKeys implements PublicKeyRepository {
  constructor(private readonly sql: SqlTx) {}

  async insert(key: PublicKeyRecord) {
    this.sql.run('INSERT INTO public_keys (id, project_id, owner_id, name, key_type, public_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      key.id, key.projectId, key.ownerId, key.name, key.keyType, key.publicKey, key.createdAt,
    ]);
  }

  async get(projectId: string, id: string) {
    const row = this.sql.get('SELECT * FROM public_keys WHERE project_id = ? AND id = ?', [projectId, id]);
    return row && toPublicKey(row);
  }

  async findByName(projectId: string, ownerId: string, name: string) {
    const row = this.sql.get('SELECT * FROM public_keys WHERE project_id = ? AND owner_id = ? AND name = ?', [projectId, ownerId, name]);
    return row && toPublicKey(row);
  }

  async list(query: { projectId: string; ownerId?: string; offset: number; limit: number }) {
    const where = ['project_id = ?'];
    const params: SqlParam[] = [query.projectId];
    if (query.ownerId !== undefined) where.push('owner_id = ?'), params.push(query.ownerId);
    const filter = where.join(' AND ');
    const total = count(this.sql, `SELECT COUNT(*) AS n FROM public_keys WHERE ${filter}`, params);
    const rows = this.sql.all(`SELECT * FROM public_keys WHERE ${filter} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`, [
      ...params, query.limit, query.offset,
    ]);
    return { items: rows.map(toPublicKey), total };
  }

  async delete(projectId: string, id: string) {
    return this.sql.run('DELETE FROM public_keys WHERE project_id = ? AND id = ?', [projectId, id]).changes > 0;
  }
}

export class SqlJsSettings implements SettingsRepository {
  constructor(private readonly sql: SqlTx) {}

  async get(name: string) {
    return textOrNull(this.sql.get('SELECT value FROM settings WHERE name = ?', [name])?.value ?? null) ?? undefined;
  }

  async set(name: string, value: string) {
    this.sql.run('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }
}
