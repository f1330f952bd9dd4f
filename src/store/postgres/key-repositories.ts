/** Key sets and one-time pre-keys on PostgreSQL (same semantics as sqljs/key-repositories.ts). */
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
import type { SqlValue } from './query-client.ts';
import { jsonOrNull, keySetColumns, keySetJsonFields, textOrNull, toKeySet } from '../rows.ts';
import { first, placeholders, rows, type TxContext } from './tx-context.ts';




/**
 * Reads of single users' key sets lock the rows (FOR UPDATE) until the transaction ends: the
 * domain decides from what it read (the pre-key count left after a fetch, the keys already
 * stored before a replenish), so concurrent changes to the same key set run one after the other,
 * as on the embedded store. Different users still proceed in parallel.
 */
export class PgKeySets implements KeySetRepository {
  constructor(private readonly ctx: TxContext) {}

  async insert(keySet: NewKeySet): Promise<KeySetRecord> {
    const row = await first(
      this.ctx.client,
      `INSERT INTO key_sets (key_format, project_id, user_id, device_id, device_name, registration_id, identity_key,
        signed_pre_key, signed_pre_key_created_at, last_resort_pre_key, pq_last_resort_pre_key, status, registered_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12) RETURNING *`,
      [
        keySet.keyFormat, keySet.projectId, keySet.userId, keySet.deviceId, keySet.deviceName, keySet.registrationId,
        keySet.identityKey, jsonOrNull(keySet.signedPreKey), keySet.signedPreKeyCreatedAt, jsonOrNull(keySet.lastResortPreKey),
        jsonOrNull(keySet.pqLastResortPreKey), keySet.registeredAt,
      ],
    );
    return toKeySet(row!);
  }

  async get(id: number): Promise<KeySetRecord | undefined> {
    const row = await first(this.ctx.client, 'SELECT * FROM key_sets WHERE id = $1 FOR UPDATE', [id]);
    return row && toKeySet(row);
  }

  async listForUser(projectId: string, userId: string): Promise<KeySetRecord[]> {
    const found = await rows(this.ctx.client, 'SELECT * FROM key_sets WHERE project_id = $1 AND user_id = $2 ORDER BY id DESC FOR UPDATE', [
      projectId,
      userId,
    ]);
    return found.map(toKeySet);
  }

  async update(id: number, changes: Parameters<KeySetRepository['update']>[1]): Promise<void> {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    const assignments = entries.map(([field], index) => `${keySetColumns[field]} = $${index + 1}`).join(', ');
    const values = entries.map(([field, value]) => (keySetJsonFields.has(field) ? jsonOrNull(value) : (value as SqlValue)));
    await this.ctx.client.query(`UPDATE key_sets SET ${assignments} WHERE id = $${entries.length + 1}`, [...values, id]);
  }

  async list(query: KeySetListQuery): Promise<{ items: KeySetRecord[]; total: number }> {
    const params: SqlValue[] = [query.projectId];
    const where = ['project_id = $1'];
    const param = (value: SqlValue) => `$${params.push(value)}`;
    const cutoff = query.expiredBefore;
    if (query.status === 'active') {
      where.push(`status = 'active'`);
      if (cutoff) where.push(`signed_pre_key_created_at >= ${param(cutoff)}`);
    } else if (query.status === 'expired') {
      where.push(cutoff ? `status = 'active' AND signed_pre_key_created_at < ${param(cutoff)}` : 'FALSE');
    } else if (query.status) {
      where.push(`status = ${param(query.status)}`);
    }
    // starts_with, not a range: PostgreSQL compares text by the database's collation.
    if (query.userIdPrefix) where.push(`starts_with(user_id, ${param(query.userIdPrefix)})`);
    const filter = where.join(' AND ');
    const counted = await first(this.ctx.client, `SELECT COUNT(*) AS n FROM key_sets WHERE ${filter}`, params);
    // SQLite puts NULLs first in ascending order and last in descending order; so do we.
    const direction = query.sortOrder === 'asc' ? 'ASC NULLS FIRST' : 'DESC NULLS LAST';
    const order = `${keySetColumns[query.sortBy]} ${direction}, id ${query.sortOrder === 'asc' ? 'ASC' : 'DESC'}`;
    const page = await rows(this.ctx.client, `SELECT * FROM key_sets WHERE ${filter} ORDER BY ${order} LIMIT ${param(query.limit)} OFFSET ${param(query.offset)}`, params);
    return { items: page.map(toKeySet), total: Number(counted?.n ?? 0) };
  }

  async archiveSignedPreKey(keySetId: number, key: SignedKey, createdAt: string, replacedAt: string): Promise<void> {
    await this.ctx.client.query(
      'INSERT INTO signed_pre_key_history (key_set_id, key_id, public_key, signature, created_at, replaced_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [keySetId, key.keyId, key.publicKey, key.signature, createdAt, replacedAt],
    );
  }

  async figures(expiredBefore?: string) {
    const byStatus = { active: 0, suspended: 0, revoked: 0, expired: 0 };
    let oneTimePreKeys = 0;
    const found = await rows(
      this.ctx.client,
      `SELECT CASE WHEN status = 'active' AND signed_pre_key_created_at < $1 THEN 'expired' ELSE status END AS visible,
              COUNT(*) AS n, SUM(one_time_pre_key_count) AS keys
       FROM key_sets GROUP BY visible`,
      [expiredBefore ?? ''],
    );
    for (const row of found) {
      byStatus[row.visible as keyof typeof byStatus] = Number(row.n);
      oneTimePreKeys += Number(row.keys ?? 0);
    }
    return { byStatus, oneTimePreKeys };
  }

  async deleteArchivedSignedPreKeys(keySetId: number, keyIds: string[]) {
    if (keyIds.length === 0) return;
    await this.ctx.client.query('DELETE FROM signed_pre_key_history WHERE key_set_id = $1 AND key_id IN (SELECT jsonb_array_elements_text($2::jsonb))', [
      keySetId,
      JSON.stringify(keyIds),
    ]);
  }

  async signedPreKeyHistory(keySetId: number) {
    const found = await rows(this.ctx.client, 'SELECT * FROM signed_pre_key_history WHERE key_set_id = $1 ORDER BY seq', [keySetId]);
    return found.map((row) => ({
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
export class PgOneTimePreKeys implements OneTimePreKeyRepository {
  constructor(private readonly ctx: TxContext) {}

  /** `delta` adds to the counter; null resets it to zero. */
  private async adjustCount(keySetId: number, kind: PreKeyKind, delta: number | null): Promise<void> {
    const column = countColumn(kind);
    const assignment = delta === null ? '0' : `${column} + $2`;
    await this.ctx.client.query(`UPDATE key_sets SET ${column} = ${assignment} WHERE id = $1`, delta === null ? [keySetId] : [keySetId, delta]);
  }

  async insertMany(keySetId: number, kind: PreKeyKind, keys: Array<PreKey & { signature?: string | null }>, createdAt: string) {
    for (let start = 0; start < keys.length; start += 100) {
      const chunk = keys.slice(start, start + 100);
      const values = chunk.map((_, index) => `(${placeholders(6, index * 6)})`).join(', ');
      const params = chunk.flatMap((key) => [keySetId, kind, key.keyId, key.publicKey, key.signature ?? null, createdAt]);
      await this.ctx.client.query(`INSERT INTO one_time_pre_keys (key_set_id, kind, key_id, public_key, signature, created_at) VALUES ${values}`, params);
    }
    await this.adjustCount(keySetId, kind, keys.length);
  }

  /**
   * One statement: SKIP LOCKED lets concurrent fetches pass a key another transaction is taking
   * instead of queueing behind it; the counter update rides along in the same round trip.
   */
  async takeOldest(keySetId: number, kind: PreKeyKind) {
    const column = countColumn(kind);
    const row = await first(
      this.ctx.client,
      `WITH taken AS (
         DELETE FROM one_time_pre_keys WHERE id = (
           SELECT id FROM one_time_pre_keys WHERE key_set_id = $1 AND kind = $2 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1
         ) RETURNING key_id, public_key, signature
       ), counted AS (
         UPDATE key_sets SET ${column} = ${column} - 1
         WHERE id = $1 AND EXISTS (SELECT 1 FROM taken)
       )
       SELECT key_id, public_key, signature FROM taken`,
      [keySetId, kind],
    );
    if (!row) return undefined;
    return { keyId: String(row.key_id), publicKey: String(row.public_key), signature: textOrNull(row.signature) };
  }

  /**
   * takeOldest for many key sets in one statement (a claim for a hundred devices is one round
   * trip, not a hundred): the oldest key of each, SKIP LOCKED as above, counters moved alike.
   */
  async takeOldestOfEach(keySetIds: number[], kind: PreKeyKind) {
    const taken = new Map<number, PreKey & { signature: string | null }>();
    const ids = [...new Set(keySetIds)];
    if (ids.length === 0) return taken;
    const targets = ids.map((_, index) => `($${index + 2}::bigint)`).join(', ');
    const column = countColumn(kind);
    const found = await rows(
      this.ctx.client,
      `WITH picked AS (
         SELECT oldest.id FROM (VALUES ${targets}) AS target (key_set_id)
         CROSS JOIN LATERAL (
           SELECT id FROM one_time_pre_keys
           WHERE key_set_id = target.key_set_id AND kind = $1 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1
         ) AS oldest
       ), taken AS (
         DELETE FROM one_time_pre_keys WHERE id IN (SELECT id FROM picked) RETURNING key_set_id, key_id, public_key, signature
       ), counted AS (
         UPDATE key_sets SET ${column} = ${column} - 1
         WHERE id IN (SELECT key_set_id FROM taken)
       )
       SELECT key_set_id, key_id, public_key, signature FROM taken`,
      [kind, ...ids],
    );
    for (const row of found) {
      taken.set(Number(row.key_set_id), { keyId: String(row.key_id), publicKey: String(row.public_key), signature: textOrNull(row.signature) });
    }
    return taken;
  }

  async count(keySetId: number, kind: PreKeyKind): Promise<number> {
    const row = await first(this.ctx.client, 'SELECT COUNT(*) AS n FROM one_time_pre_keys WHERE key_set_id = $1 AND kind = $2', [keySetId, kind]);
    return Number(row?.n ?? 0);
  }

  async existingKeyIds(keySetId: number, kind: PreKeyKind, keyIds: string[]): Promise<string[]> {
    if (keyIds.length === 0) return [];
    const found = await rows(
      this.ctx.client,
      `SELECT key_id FROM one_time_pre_keys WHERE key_set_id = $1 AND kind = $2 AND key_id IN (${placeholders(keyIds.length, 2)})`,
      [keySetId, kind, ...keyIds],
    );
    return found.map((row) => String(row.key_id));
  }

  async deleteAll(keySetId: number, kind: PreKeyKind): Promise<void> {
    await this.ctx.client.query('DELETE FROM one_time_pre_keys WHERE key_set_id = $1 AND kind = $2', [keySetId, kind]);
    await this.adjustCount(keySetId, kind, null);
  }
}
