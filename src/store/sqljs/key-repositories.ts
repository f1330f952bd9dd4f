/** Key sets and one-time pre-keys on the embedded store. */
import type {
  KeySetListQuery,
  KeySetRecord,
  KeySetRepository,
  NewKeySet,
  OneTimePreKeyRepository,
  PreKey,
  PreKeyKind,
  SignedKey,
} from '../types.ts';
import { jsonOrNull, keySetColumns, keySetJsonFields, toKeySet } from '../rows.ts';
import type { SqlParam, SqlTx } from './durable-database.ts';





export class SqlJsKeySets implements KeySetRepository {
  constructor(private readonly sql: SqlTx) {}

  async insert(keySet: NewKeySet): Promise<KeySetRecord> {
    const { lastInsertRowid } = this.sql.run(
      `INSERT INTO key_sets (key_format, project_id, user_id, device_id, device_name, registration_id, identity_key,
        signed_pre_key, signed_pre_key_created_at, last_resort_pre_key, pq_last_resort_pre_key, status, registered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)`,
      [
        keySet.keyFormat, keySet.projectId, keySet.userId, keySet.deviceId, keySet.deviceName, keySet.registrationId,
        keySet.identityKey, jsonOrNull(keySet.signedPreKey), keySet.signedPreKeyCreatedAt, jsonOrNull(keySet.lastResortPreKey),
        jsonOrNull(keySet.pqLastResortPreKey), keySet.registeredAt,
      ],
    );
    return (await this.get(lastInsertRowid))!;
  }

  async get(id: number): Promise<KeySetRecord | undefined> {
    const row = this.sql.get('SELECT * FROM key_sets WHERE id = ?', [id]);
    return row && toKeySet(row);
  }

  async listForUser(projectId: string, userId: string): Promise<KeySetRecord[]> {
    return this.sql
      // Sorted here: with SELECT *, SQLite's backward index walk for ORDER BY id DESC costs four
      // times the lookup itself (measured), and a user has only a few key sets.
      .all('SELECT * FROM key_sets WHERE project_id = ? AND user_id = ?', [projectId, userId])
      .sort((a, b) => Number(b.id) - Number(a.id))
      .map(toKeySet);
  }

  async update(id: number, changes: Parameters<KeySetRepository['update']>[1]): Promise<void> {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    const assignments = entries.map(([field]) => `${keySetColumns[field]} = ?`).join(', ');
    const values = entries.map(([field, value]) => (keySetJsonFields.has(field) ? jsonOrNull(value) : (value as SqlParam)));
    this.sql.run(`UPDATE key_sets SET ${assignments} WHERE id = ?`, [...values, id]);
  }

  async list(query: KeySetListQuery): Promise<{ items: KeySetRecord[]; total: number }> {
    const where = ['project_id = ?'];
    const params: SqlParam[] = [query.projectId];
    const cutoff = query.expiredBefore;
    if (query.status === 'active') {
      where.push(`status = 'active'`);
      if (cutoff) where.push('signed_pre_key_created_at >= ?'), params.push(cutoff);
    } else if (query.status === 'expired') {
      where.push(cutoff ? `status = 'active' AND signed_pre_key_created_at < ?` : '0');
      if (cutoff) params.push(cutoff);
    } else if (query.status) {
      where.push('status = ?'), params.push(query.status);
    }
    // A range on the (project, user) index: user ids are ASCII, and U+007F sorts after every allowed character.
    if (query.userIdPrefix) where.push('user_id >= ? AND user_id < ?'), params.push(query.userIdPrefix, `${query.userIdPrefix}\x7f`);
    const filter = where.join(' AND ');
    const total = Number(this.sql.get(`SELECT COUNT(*) AS n FROM key_sets WHERE ${filter}`, params)?.n ?? 0);
    const order = `${keySetColumns[query.sortBy]} ${query.sortOrder === 'asc' ? 'ASC' : 'DESC'}, id ${query.sortOrder === 'asc' ? 'ASC' : 'DESC'}`;
    const rows = this.sql.all(`SELECT * FROM key_sets WHERE ${filter} ORDER BY ${order} LIMIT ? OFFSET ?`, [
      ...params,
      query.limit,
      query.offset,
    ]);
    return { items: rows.map(toKeySet), total };
  }

  async archiveSignedPreKey(keySetId: number, key: SignedKey, createdAt: string, replacedAt: string): Promise<void> {
    this.sql.run(
      'INSERT INTO signed_pre_key_history (key_set_id, key_id, public_key, signature, created_at, replaced_at) VALUES (?, ?, ?, ?, ?, ?)',
      [keySetId, key.keyId, key.publicKey, key.signature, createdAt, replacedAt],
    );
  }

  async figures(expiredBefore?: string) {
    const byStatus = { active: 0, suspended: 0, revoked: 0, expired: 0 };
    let oneTimePreKeys = 0;
    const rows = this.sql.all(
      `SELECT CASE WHEN status = 'active' AND signed_pre_key_created_at < ? THEN 'expired' ELSE status END AS visible,
              COUNT(*) AS n, SUM(one_time_pre_key_count) AS keys
       FROM key_sets GROUP BY visible`,
      [expiredBefore ?? ''],
    );
    for (const row of rows) {
      byStatus[row.visible as keyof typeof byStatus] = Number(row.n);
      oneTimePreKeys += Number(row.keys ?? 0);
    }
    return { byStatus, oneTimePreKeys };
  }

  async deleteArchivedSignedPreKeys(keySetId: number, keyIds: string[]) {
    for (const keyId of keyIds) this.sql.run('DELETE FROM signed_pre_key_history WHERE key_set_id = ? AND key_id = ?', [keySetId, keyId]);
  }

  async signedPreKeyHistory(keySetId: number) {
    return this.sql
      .all('SELECT * FROM signed_pre_key_history WHERE key_set_id = ? ORDER BY rowid', [keySetId])
      .map((row) => ({
        keyId: String(row.key_id),
        publicKey: String(row.public_key),
        signature: String(row.signature),
        createdAt: String(row.created_at),
        replacedAt: String(row.replaced_at),
      }));
  }
}

/** The key set's denormalised counter of each kind (lists sort by the EC one; bundles report both). */
const countColumn = (kind: PreKeyKind): string => (kind === 'ec' ? 'one_time_pre_key_count' : 'pq_one_time_pre_key_count');

/** One-time pre-keys also move the key set's counter of their kind. */
export class SqlJsOneTimePreKeys implements OneTimePreKeyRepository {
  constructor(private readonly sql: SqlTx) {}

  /** `delta` adds to the counter; null resets it to zero. */
  private adjustCount(keySetId: number, kind: PreKeyKind, delta: number | null): void {
    const column = countColumn(kind);
    this.sql.run(`UPDATE key_sets SET ${column} = ${delta === null ? '0' : `${column} + ?`} WHERE id = ?`, delta === null ? [keySetId] : [delta, keySetId]);
  }

  async insertMany(keySetId: number, kind: PreKeyKind, keys: Array<PreKey & { signature?: string | null }>, createdAt: string) {
    for (let start = 0; start < keys.length; start += 100) {
      const chunk = keys.slice(start, start + 100);
      const values = chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ');
      const params = chunk.flatMap((key) => [keySetId, kind, key.keyId, key.publicKey, key.signature ?? null, createdAt]);
      this.sql.run(`INSERT INTO one_time_pre_keys (key_set_id, kind, key_id, public_key, signature, created_at) VALUES ${values}`, params);
    }
    this.adjustCount(keySetId, kind, keys.length);
  }

  async takeOldest(keySetId: number, kind: PreKeyKind) {
    const row = this.sql.get(
      'SELECT id, key_id, public_key, signature FROM one_time_pre_keys WHERE key_set_id = ? AND kind = ? ORDER BY id LIMIT 1',
      [keySetId, kind],
    );
    if (!row) return undefined;
    this.sql.run('DELETE FROM one_time_pre_keys WHERE id = ?', [row.id!]);
    this.adjustCount(keySetId, kind, -1);
    return { keyId: String(row.key_id), publicKey: String(row.public_key), signature: row.signature === null ? null : String(row.signature) };
  }

  /** Two statements for any number of key sets: each is journaled, so fewer is cheaper. */
  async takeOldestOfEach(keySetIds: number[], kind: PreKeyKind) {
    const taken = new Map<number, PreKey & { signature: string | null }>();
    const ids = [...new Set(keySetIds)];
    if (ids.length === 0) return taken;
    const rows = this.sql.all(
      `DELETE FROM one_time_pre_keys WHERE id IN (
         SELECT (SELECT id FROM one_time_pre_keys WHERE key_set_id = target.column1 AND kind = ? ORDER BY id LIMIT 1)
         FROM (VALUES ${ids.map(() => '(?)').join(', ')}) AS target
       ) RETURNING key_set_id, key_id, public_key, signature`,
      [kind, ...ids],
    );
    for (const row of rows) {
      taken.set(Number(row.key_set_id), { keyId: String(row.key_id), publicKey: String(row.public_key), signature: row.signature === null ? null : String(row.signature) });
    }
    if (taken.size > 0) {
      const takenIds = [...taken.keys()];
      const column = countColumn(kind);
      this.sql.run(`UPDATE key_sets SET ${column} = ${column} - 1 WHERE id IN (${takenIds.map(() => '?').join(', ')})`, takenIds);
    }
    return taken;
  }

  async count(keySetId: number, kind: PreKeyKind): Promise<number> {
    const row = this.sql.get('SELECT COUNT(*) AS n FROM one_time_pre_keys WHERE key_set_id = ? AND kind = ?', [keySetId, kind]);
    return Number(row?.n ?? 0);
  }

  async existingKeyIds(keySetId: number, kind: PreKeyKind, keyIds: string[]): Promise<string[]> {
    if (keyIds.length === 0) return [];
    const placeholders = keyIds.map(() => '?').join(', ');
    return this.sql
      .all(`SELECT key_id FROM one_time_pre_keys WHERE key_set_id = ? AND kind = ? AND key_id IN (${placeholders})`, [keySetId, kind, ...keyIds])
      .map((row) => String(row.key_id));
  }

  async deleteAll(keySetId: number, kind: PreKeyKind): Promise<void> {
    this.sql.run('DELETE FROM one_time_pre_keys WHERE key_set_id = ? AND kind = ?', [keySetId, kind]);
    this.adjustCount(keySetId, kind, null);
  }
}
