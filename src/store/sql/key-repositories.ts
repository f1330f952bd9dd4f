/**
 * Key sets and one-time pre-keys, for both backends. On PostgreSQL, reads of single users' key
 * sets lock the rows (the dialect's row lock) until the transaction ends: the domain decides from
 * what it read (the pre-key count left after a fetch, the keys already stored before a
 * replenish), so concurrent changes to one key set run one after the other, as on the embedded
 * store. Different users still proceed in parallel.
 */
import type { KeySetListQuery, KeySetRecord, KeySetRepository, NewKeySet, OneTimePreKeyRepository, PreKey, PreKeyKind, SignedKey } from '../types.ts';
import { jsonOrNull, keySetColumns, keySetJsonFields, textOrNull, toKeySet } from '../rows.ts';
import { Filter, page, placeholders, type Row, type SqlRunner, type SqlValue } from './runner.ts';

export class SqlKeySets implements KeySetRepository {
  constructor(private readonly sql: SqlRunner) {}

  async insert(keySet: NewKeySet): Promise<KeySetRecord> {
    const [row] = await this.sql.returning(
      `INSERT INTO key_sets (key_format, project_id, user_id, device_id, device_name, registration_id, identity_key,
        signed_pre_key, signed_pre_key_created_at, last_resort_pre_key, pq_last_resort_pre_key, status, registered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?) RETURNING *`,
      [
        keySet.keyFormat,
        keySet.projectId,
        keySet.userId,
        keySet.deviceId,
        keySet.deviceName,
        keySet.registrationId,
        keySet.identityKey,
        jsonOrNull(keySet.signedPreKey),
        keySet.signedPreKeyCreatedAt,
        jsonOrNull(keySet.lastResortPreKey),
        jsonOrNull(keySet.pqLastResortPreKey),
        keySet.registeredAt,
      ],
    );
    return toKeySet(row!);
  }

  async get(id: number): Promise<KeySetRecord | undefined> {
    const row = await this.sql.get(`SELECT * FROM key_sets WHERE id = ?${this.sql.dialect.rowLock}`, [id]);
    return row && toKeySet(row);
  }

  async lockUser(projectId: string, userId: string): Promise<void> {
    const { namedLock } = this.sql.dialect;
    if (namedLock) await this.sql.get(namedLock, [`prekeyd:user:${projectId}:${userId}`]);
  }

  async listForUser(projectId: string, userId: string): Promise<KeySetRecord[]> {
    const { rowLock } = this.sql.dialect;
    // Locked rows are locked in id order, so two transactions on one user cannot deadlock. The
    // sort itself is done here: with SELECT *, SQLite's backward index walk for ORDER BY id DESC
    // costs four times the lookup itself (measured), and a user has only a few key sets.
    const rows = await this.sql.all(`SELECT * FROM key_sets WHERE project_id = ? AND user_id = ?${rowLock && ` ORDER BY id DESC${rowLock}`}`, [
      projectId,
      userId,
    ]);
    return rows.sort((a, b) => Number(b.id) - Number(a.id)).map(toKeySet);
  }

  async update(id: number, changes: Parameters<KeySetRepository['update']>[1]): Promise<void> {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    const assignments = entries.map(([field]) => `${keySetColumns[field]} = ?`).join(', ');
    const values = entries.map(([field, value]) => (keySetJsonFields.has(field) ? jsonOrNull(value) : (value as SqlValue)));
    await this.sql.run(`UPDATE key_sets SET ${assignments} WHERE id = ?`, [...values, id]);
  }

  async list(query: KeySetListQuery): Promise<{ items: KeySetRecord[]; total: number }> {
    const filter = new Filter().where('project_id = ?', query.projectId);
    const cutoff = query.expiredBefore;
    if (query.status === 'active') {
      filter.where(`status = 'active'`);
      if (cutoff) filter.where('signed_pre_key_created_at >= ?', cutoff);
    } else if (query.status === 'expired') {
      if (cutoff) filter.where(`status = 'active' AND signed_pre_key_created_at < ?`, cutoff);
      else filter.where('FALSE');
    } else if (query.status) {
      filter.where('status = ?', query.status);
    }
    // A range on the (project, user) index: user ids are ASCII, text compares bytewise on both
    // backends (PostgreSQL's columns are COLLATE "C"), and U+007F sorts after every allowed character.
    if (query.userIdPrefix) filter.where('user_id >= ? AND user_id < ?', query.userIdPrefix, `${query.userIdPrefix}\x7f`);
    // NULLs first in ascending order and last in descending order: SQLite's default, explicit for PostgreSQL.
    const direction = query.sortOrder === 'asc' ? 'ASC' : 'DESC';
    const orderBy = `${keySetColumns[query.sortBy]} ${direction} NULLS ${query.sortOrder === 'asc' ? 'FIRST' : 'LAST'}, id ${direction}`;
    return page(this.sql, { table: 'key_sets', filter, orderBy, limit: query.limit, offset: query.offset }, toKeySet);
  }

  async archiveSignedPreKey(keySetId: number, key: SignedKey, createdAt: string, replacedAt: string): Promise<void> {
    await this.sql.run('INSERT INTO signed_pre_key_history (key_set_id, key_id, public_key, signature, created_at, replaced_at) VALUES (?, ?, ?, ?, ?, ?)', [
      keySetId,
      key.keyId,
      key.publicKey,
      key.signature,
      createdAt,
      replacedAt,
    ]);
  }

  async figures(expiredBefore?: string) {
    const byStatus = { active: 0, suspended: 0, revoked: 0, expired: 0 };
    let oneTimePreKeys = 0;
    const rows = await this.sql.all(
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
    if (keyIds.length === 0) return;
    await this.sql.run(`DELETE FROM signed_pre_key_history WHERE key_set_id = ? AND key_id IN (${placeholders(keyIds.length)})`, [keySetId, ...keyIds]);
  }

  async signedPreKeyHistory(keySetId: number) {
    const rows = await this.sql.all(`SELECT * FROM signed_pre_key_history WHERE key_set_id = ? ORDER BY ${this.sql.dialect.insertionOrder}`, [keySetId]);
    return rows.map((row) => ({
      keyId: String(row.key_id),
      publicKey: String(row.public_key),
      signature: String(row.signature),
      createdAt: String(row.created_at),
      replacedAt: String(row.replaced_at),
    }));
  }
}

/** The key set's denormalised counter of each kind (lists sort by the EC one; bundles report both). */
export const countColumn = (kind: PreKeyKind): string => (kind === 'ec' ? 'one_time_pre_key_count' : 'pq_one_time_pre_key_count');

export type TakenPreKey = PreKey & { signature: string | null };

export const toTakenPreKey = (row: Row): TakenPreKey => ({
  keyId: String(row.key_id),
  publicKey: String(row.public_key),
  signature: textOrNull(row.signature),
});

/** Moves the key set's counter of one-time pre-keys of `kind`: `delta` adds to it, null resets it to zero. */
export async function adjustPreKeyCount(sql: SqlRunner, keySetId: number, kind: PreKeyKind, delta: number | null): Promise<void> {
  const column = countColumn(kind);
  await sql.run(`UPDATE key_sets SET ${column} = ${delta === null ? '0' : `${column} + ?`} WHERE id = ?`, delta === null ? [keySetId] : [delta, keySetId]);
}

/** One key of `kind` taken from each of the key sets: their counters down by one, in one statement. */
export async function decrementPreKeyCounts(sql: SqlRunner, keySetIds: number[], kind: PreKeyKind): Promise<void> {
  if (keySetIds.length === 0) return;
  const column = countColumn(kind);
  await sql.run(`UPDATE key_sets SET ${column} = ${column} - 1 WHERE id IN (${placeholders(keySetIds.length)})`, keySetIds);
}

/**
 * One-time pre-keys in SQL; they also move the key set's counter of their kind. The takes are the
 * backend's: PostgreSQL takes with SKIP LOCKED, counter included, in one round trip
 * (postgres/one-time-pre-keys.ts). The embedded store keeps its keys in memory instead
 * (sqljs/hot-pre-keys.ts) and shares only the counter updates above.
 */
export abstract class SqlOneTimePreKeys implements OneTimePreKeyRepository {
  constructor(protected readonly sql: SqlRunner) {}

  async insertMany(keySetId: number, kind: PreKeyKind, keys: Array<PreKey & { signature?: string | null }>, createdAt: string) {
    for (let start = 0; start < keys.length; start += 100) {
      const chunk = keys.slice(start, start + 100);
      const values = chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ');
      const params = chunk.flatMap((key) => [keySetId, kind, key.keyId, key.publicKey, key.signature ?? null, createdAt]);
      await this.sql.run(`INSERT INTO one_time_pre_keys (key_set_id, kind, key_id, public_key, signature, created_at) VALUES ${values}`, params);
    }
    await adjustPreKeyCount(this.sql, keySetId, kind, keys.length);
  }

  /** Atomically removes and returns the oldest stored key (the backend's own way of taking it). */
  abstract takeOldest(keySetId: number, kind: PreKeyKind): Promise<TakenPreKey | undefined>;
  abstract takeOldestOfEach(keySetIds: number[], kind: PreKeyKind): Promise<Map<number, TakenPreKey>>;

  async count(keySetId: number, kind: PreKeyKind): Promise<number> {
    const row = await this.sql.get('SELECT COUNT(*) AS n FROM one_time_pre_keys WHERE key_set_id = ? AND kind = ?', [keySetId, kind]);
    return Number(row?.n ?? 0);
  }

  async existingKeyIds(keySetId: number, kind: PreKeyKind, keyIds: string[]): Promise<string[]> {
    if (keyIds.length === 0) return [];
    const rows = await this.sql.all(`SELECT key_id FROM one_time_pre_keys WHERE key_set_id = ? AND kind = ? AND key_id IN (${placeholders(keyIds.length)})`, [
      keySetId,
      kind,
      ...keyIds,
    ]);
    return rows.map((row) => String(row.key_id));
  }

  async deleteAll(keySetId: number, kind: PreKeyKind): Promise<void> {
    await this.sql.run('DELETE FROM one_time_pre_keys WHERE key_set_id = ? AND kind = ?', [keySetId, kind]);
    await adjustPreKeyCount(this.sql, keySetId, kind, null);
  }
}
