/**
 * One-time pre-keys on PostgreSQL: the shared repository (sql/key-repositories.ts), but a take is
 * one statement. SKIP LOCKED lets concurrent fetches pass a key another transaction is taking
 * instead of queueing behind it (so several instances never hand out one key twice, nor wait on
 * each other), and the counter update rides along in the same round trip.
 */
import type { PreKeyKind } from '../types.ts';
import { countColumn, SqlOneTimePreKeys, type TakenPreKey, toTakenPreKey } from '../sql/key-repositories.ts';
import { first, rows, type TxContext } from './tx-context.ts';

export class PgOneTimePreKeys extends SqlOneTimePreKeys {
  constructor(private readonly ctx: TxContext) {
    super(ctx.sql);
  }

  override async takeOldest(keySetId: number, kind: PreKeyKind): Promise<TakenPreKey | undefined> {
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
    return row && toTakenPreKey(row);
  }

  /** takeOldest for many key sets in one statement (a claim for a hundred devices is one round trip, not a hundred). */
  override async takeOldestOfEach(keySetIds: number[], kind: PreKeyKind): Promise<Map<number, TakenPreKey>> {
    const taken = new Map<number, TakenPreKey>();
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
    for (const row of found) taken.set(Number(row.key_set_id), toTakenPreKey(row));
    return taken;
  }
}
