/** Backups, sessions, API keys, public keys and settings, for both backends. */
import type {
  ApiKeyRecord,
  ApiKeyRepository,
  BackupRecord,
  BackupRepository,
  PublicKeyRecord,
  PublicKeyRepository,
  SessionRecord,
  SessionRepository,
  SettingsRepository,
} from '../types.ts';
import { decodedBase64Length, likePattern, textOrNull, toApiKey, toBackup, toPublicKey, toSession } from '../rows.ts';
import { Filter, page, type Row, type SqlRunner, type SqlValue } from './runner.ts';

/** The blob is stored in the row here; the embedded store keeps it in a file instead (sqljs/backups.ts). */
export class SqlBackups implements BackupRepository {
  constructor(protected readonly sql: SqlRunner) {}

  protected async toRecord(row: Row | undefined): Promise<BackupRecord | undefined> {
    return row && toBackup(row);
  }

  async latest(projectId: string, userId: string) {
    return this.toRecord(await this.sql.get('SELECT * FROM backups WHERE project_id = ? AND user_id = ? ORDER BY version DESC LIMIT 1', [projectId, userId]));
  }

  async latestVersion(projectId: string, userId: string) {
    return Number((await this.sql.get('SELECT MAX(version) AS v FROM backups WHERE project_id = ? AND user_id = ?', [projectId, userId]))?.v ?? 0);
  }

  async get(projectId: string, userId: string, version: number) {
    return this.toRecord(await this.sql.get('SELECT * FROM backups WHERE project_id = ? AND user_id = ? AND version = ?', [projectId, userId, version]));
  }

  async insert(backup: BackupRecord) {
    await this.sql.run(
      'INSERT INTO backups (project_id, user_id, version, encrypted_bundle, encryption_metadata, checksum, created_at, size_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [
        backup.projectId,
        backup.userId,
        backup.version,
        backup.encryptedBundle,
        JSON.stringify(backup.encryptionMetadata),
        backup.checksum,
        backup.createdAt,
        decodedBase64Length(backup.encryptedBundle),
      ],
    );
  }

  async pruneVersions(projectId: string, userId: string, keep: number) {
    const { changes } = await this.sql.run(
      `DELETE FROM backups WHERE project_id = ? AND user_id = ? AND version <= (SELECT MAX(version) FROM backups WHERE project_id = ? AND user_id = ?) - ?`,
      [projectId, userId, projectId, userId, keep],
    );
    return changes;
  }

  async storedBytes(projectId: string) {
    return Number((await this.sql.get('SELECT COALESCE(SUM(size_bytes), 0) AS n FROM backups WHERE project_id = ?', [projectId]))?.n ?? 0);
  }
}

export class SqlSessions implements SessionRepository {
  constructor(private readonly sql: SqlRunner) {}

  async insert(session: SessionRecord) {
    await this.sql.run(
      `INSERT INTO sessions (session_id, project_id, initiator_user_id, responder_user_id, responder_device_id, initiator_identity_key,
        initiator_ephemeral_key, signed_pre_key_id, one_time_pre_key_id, last_resort_pre_key_id, pq_pre_key_id, pq_pre_key_last_resort,
        kem_ciphertext, status, created_at, expires_at, completed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        session.sessionId,
        session.projectId,
        session.initiatorUserId,
        session.responderUserId,
        session.responderDeviceId,
        session.initiatorIdentityKey,
        session.initiatorEphemeralKey,
        session.signedPreKeyId,
        session.oneTimePreKeyId,
        session.lastResortPreKeyId,
        session.pqPreKeyId,
        session.pqPreKeyLastResort ? 1 : 0,
        session.kemCiphertext,
        session.status,
        session.createdAt,
        session.expiresAt,
        session.completedAt,
      ],
    );
  }

  async get(projectId: string, sessionId: string): Promise<SessionRecord | undefined> {
    const row = await this.sql.get('SELECT * FROM sessions WHERE project_id = ? AND session_id = ?', [projectId, sessionId]);
    return row && toSession(row);
  }

  async complete(projectId: string, sessionId: string, completedAt: string) {
    await this.sql.run(`UPDATE sessions SET status = 'completed', completed_at = ? WHERE project_id = ? AND session_id = ?`, [
      completedAt,
      projectId,
      sessionId,
    ]);
  }

  async setKemCiphertext(projectId: string, sessionId: string, kemCiphertext: string) {
    await this.sql.run('UPDATE sessions SET kem_ciphertext = ? WHERE project_id = ? AND session_id = ?', [kemCiphertext, projectId, sessionId]);
  }

  async peersOf(projectId: string, userId: string, now: string): Promise<string[]> {
    const rows = await this.sql.all(
      `SELECT initiator_user_id AS peer FROM sessions WHERE project_id = ? AND responder_user_id = ? AND expires_at > ?
       UNION SELECT responder_user_id AS peer FROM sessions WHERE project_id = ? AND initiator_user_id = ? AND expires_at > ?`,
      [projectId, userId, now, projectId, userId, now],
    );
    return rows.map((row) => String(row.peer)).filter((peer) => peer !== userId);
  }

  async deleteExpired(before: string) {
    return (await this.sql.run('DELETE FROM sessions WHERE expires_at <= ?', [before])).changes;
  }

  async signedPreKeysInUse(projectId: string, responderUserId: string, responderDeviceId: string, now: string) {
    const rows = await this.sql.all(
      'SELECT DISTINCT signed_pre_key_id AS id FROM sessions WHERE project_id = ? AND responder_user_id = ? AND responder_device_id = ? AND expires_at > ?',
      [projectId, responderUserId, responderDeviceId, now],
    );
    return rows.map((row) => String(row.id));
  }
}

export class SqlApiKeys implements ApiKeyRepository {
  constructor(private readonly sql: SqlRunner) {}

  async insert(key: ApiKeyRecord) {
    await this.sql.run(
      `INSERT INTO api_keys (uid, project_id, hash, prefix, description, acl, user_ids, expires_at, revoked, created_at, updated_at, last_used_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        key.uid,
        key.projectId,
        key.hash,
        key.prefix,
        key.description,
        JSON.stringify(key.acl),
        JSON.stringify(key.userIds),
        key.expiresAt,
        this.sql.dialect.bool(key.revoked),
        key.createdAt,
        key.updatedAt,
        key.lastUsedAt,
      ],
    );
  }

  async findByHash(hash: string) {
    const row = await this.sql.get('SELECT * FROM api_keys WHERE hash = ?', [hash]);
    return row && toApiKey(row);
  }

  async get(uid: string) {
    const row = await this.sql.get('SELECT * FROM api_keys WHERE uid = ?', [uid]);
    return row && toApiKey(row);
  }

  async list(query: { projectId?: string; search?: string; offset: number; limit: number }) {
    const { caseInsensitiveLike, insertionOrder } = this.sql.dialect;
    const filter = new Filter();
    if (query.projectId !== undefined) filter.where('project_id = ?', query.projectId);
    if (query.search) filter.where(`description ${caseInsensitiveLike} ? ESCAPE '\\'`, likePattern(query.search));
    const orderBy = `created_at DESC, ${insertionOrder} DESC`;
    return page(this.sql, { table: 'api_keys', filter, orderBy, limit: query.limit, offset: query.offset }, toApiKey);
  }

  async update(uid: string, changes: Partial<Pick<ApiKeyRecord, 'description' | 'acl' | 'userIds' | 'revoked' | 'updatedAt'>>) {
    const columns: Array<[string, SqlValue]> = [];
    if (changes.description !== undefined) columns.push(['description', changes.description]);
    if (changes.acl !== undefined) columns.push(['acl', JSON.stringify(changes.acl)]);
    if (changes.userIds !== undefined) columns.push(['user_ids', JSON.stringify(changes.userIds)]);
    if (changes.revoked !== undefined) columns.push(['revoked', this.sql.dialect.bool(changes.revoked)]);
    if (changes.updatedAt !== undefined) columns.push(['updated_at', changes.updatedAt]);
    if (columns.length === 0) return;
    await this.sql.run(`UPDATE api_keys SET ${columns.map(([column]) => `${column} = ?`).join(', ')} WHERE uid = ?`, [
      ...columns.map(([, value]) => value),
      uid,
    ]);
  }

  async touch(uid: string, lastUsedAt: string) {
    await this.sql.run('UPDATE api_keys SET last_used_at = ? WHERE uid = ?', [lastUsedAt, uid]);
  }

  async delete(uid: string) {
    return (await this.sql.run('DELETE FROM api_keys WHERE uid = ?', [uid])).changes > 0;
  }
}

export class SqlPublicKeys implements PublicKeyRepository {
  constructor(private readonly sql: SqlRunner) {}

  async lockOwner(projectId: string, ownerId: string): Promise<void> {
    const { namedLock } = this.sql.dialect;
    if (namedLock) await this.sql.get(namedLock, [`prekeyd:owner:${projectId}:${ownerId}`]);
  }

  async insert(key: PublicKeyRecord) {
    await this.sql.run('INSERT INTO public_keys (id, project_id, owner_id, name, key_type, public_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      key.id,
      key.projectId,
      key.ownerId,
      key.name,
      key.keyType,
      key.publicKey,
      key.createdAt,
    ]);
  }

  async get(projectId: string, id: string) {
    const row = await this.sql.get('SELECT * FROM public_keys WHERE project_id = ? AND id = ?', [projectId, id]);
    return row && toPublicKey(row);
  }

  async findByName(projectId: string, ownerId: string, name: string) {
    const row = await this.sql.get('SELECT * FROM public_keys WHERE project_id = ? AND owner_id = ? AND name = ?', [projectId, ownerId, name]);
    return row && toPublicKey(row);
  }

  async list(query: { projectId: string; ownerId?: string; offset: number; limit: number }) {
    const filter = new Filter().where('project_id = ?', query.projectId);
    if (query.ownerId !== undefined) filter.where('owner_id = ?', query.ownerId);
    const orderBy = `created_at DESC, ${this.sql.dialect.insertionOrder} DESC`;
    return page(this.sql, { table: 'public_keys', filter, orderBy, limit: query.limit, offset: query.offset }, toPublicKey);
  }

  async delete(projectId: string, id: string) {
    return (await this.sql.run('DELETE FROM public_keys WHERE project_id = ? AND id = ?', [projectId, id])).changes > 0;
  }
}

export class SqlSettings implements SettingsRepository {
  constructor(private readonly sql: SqlRunner) {}

  async get(name: string) {
    return textOrNull((await this.sql.get('SELECT value FROM settings WHERE name = ?', [name]))?.value ?? null) ?? undefined;
  }

  async set(name: string, value: string) {
    await this.sql.run('INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value', [name, value]);
  }
}
