/**
 * The embedded store's one-time pre-keys, held in memory: a queue per key set and kind, oldest
 * first. A bundle fetch or a registration changes only these queues, the key set's counter and the
 * journal, where each change is recorded as the SQL statement it stands for (SqlTx.journal).
 * Recovery and the checkpoint image builder replay those statements, so the files hold the keys as
 * the plain `one_time_pre_keys` table, while the live sql.js database holds none: taking or adding
 * a key costs no B-tree work on the request path (~10 µs a row in sql.js, issue 17).
 */
import type { OneTimePreKeyRepository, PreKey, PreKeyKind } from '../types.ts';
import { adjustPreKeyCount, decrementPreKeyCounts, type TakenPreKey } from '../sql/key-repositories.ts';
import { placeholders, type SqlRunner } from '../sql/runner.ts';
import type { SqliteConnection } from './connection.ts';
import type { HotState, SqlTx } from './durable-database.ts';

/** A key set's keys of one kind in id order; taken from the front (`head`), appended at the back. */
class PreKeyQueue {
  ids: number[] = [];
  keyIds: string[] = [];
  publicKeys: string[] = [];
  signatures: Array<string | null> = [];
  private head = 0;

  get size(): number {
    return this.ids.length - this.head;
  }

  push(id: number, keyId: string, publicKey: string, signature: string | null): void {
    this.ids.push(id);
    this.keyIds.push(keyId);
    this.publicKeys.push(publicKey);
    this.signatures.push(signature);
  }

  /** Removes the newest `count` keys (undoes pushes). */
  drop(count: number): void {
    const length = this.ids.length - count;
    this.ids.length = length;
    this.keyIds.length = length;
    this.publicKeys.length = length;
    this.signatures.length = length;
  }

  /** Removes and returns the oldest key. */
  shift(): TakenPreKey & { id: number } {
    const at = this.head++;
    const key = { id: this.ids[at]!, keyId: this.keyIds[at]!, publicKey: this.publicKeys[at]!, signature: this.signatures[at]! };
    if (this.head >= 1024 && this.head * 2 >= this.ids.length) this.compact();
    return key;
  }

  /** Puts a key taken by shift() back in front (undoes it). */
  unshift(key: TakenPreKey & { id: number }): void {
    if (this.head === 0) {
      this.ids.unshift(key.id);
      this.keyIds.unshift(key.keyId);
      this.publicKeys.unshift(key.publicKey);
      this.signatures.unshift(key.signature);
      return;
    }
    const at = --this.head;
    this.ids[at] = key.id;
    this.keyIds[at] = key.keyId;
    this.publicKeys[at] = key.publicKey;
    this.signatures[at] = key.signature;
  }

  /** Which of `keyIds` the queue holds. */
  holding(keyIds: Iterable<string>): string[] {
    const wanted = new Set(keyIds);
    const found: string[] = [];
    for (let i = this.head; i < this.keyIds.length && found.length < wanted.size; i++) {
      if (wanted.has(this.keyIds[i]!)) found.push(this.keyIds[i]!);
    }
    return found;
  }

  private compact(): void {
    this.ids.splice(0, this.head);
    this.keyIds.splice(0, this.head);
    this.publicKeys.splice(0, this.head);
    this.signatures.splice(0, this.head);
    this.head = 0;
  }
}

/** Every one-time pre-key of the embedded store, shared by its transactions (which run one at a time). */
export class HotPreKeys implements HotState {
  private readonly queues: Record<PreKeyKind, Map<number, PreKeyQueue>> = { ec: new Map(), kyber: new Map() };
  private nextId = 1;

  load(conn: SqliteConnection): void {
    this.queues.ec.clear();
    this.queues.kyber.clear();
    let maxId = 0;
    conn.each('SELECT id, key_set_id, kind, key_id, public_key, signature FROM one_time_pre_keys ORDER BY id', [], (row) => {
      const id = row[0] as number;
      const kind = row[2] === 'kyber' ? 'kyber' : 'ec';
      this.queue(kind, row[1] as number, true).push(id, String(row[3]), String(row[4]), row[5] === null ? null : String(row[5]));
      maxId = id;
    });
    // AUTOINCREMENT: ids of deleted keys are never issued again, as SQLite would not either.
    const issued = conn.scalar(`SELECT seq FROM sqlite_sequence WHERE name = 'one_time_pre_keys'`);
    this.nextId = Math.max(maxId, issued) + 1;
    // No VACUUM: it grows sql.js's WebAssembly heap, which never shrinks (100k key sets: 556 MiB
    // idle with it, 353 without), and the freed pages are reused by later writes.
    conn.execute('DELETE FROM one_time_pre_keys');
  }

  /** The repository a transaction sees: queues changed here, the change journaled, undone on rollback. */
  repository(tx: SqlTx, sql: SqlRunner): OneTimePreKeyRepository {
    return new HotOneTimePreKeys(this, tx, sql);
  }

  queue(kind: PreKeyKind, keySetId: number, create: true): PreKeyQueue;
  queue(kind: PreKeyKind, keySetId: number, create?: false): PreKeyQueue | undefined;
  queue(kind: PreKeyKind, keySetId: number, create = false): PreKeyQueue | undefined {
    let queue = this.queues[kind].get(keySetId);
    if (!queue && create) this.queues[kind].set(keySetId, (queue = new PreKeyQueue()));
    return queue;
  }

  /** Removes the key set's queue of `kind`, returning a function that puts it back. */
  removeQueue(kind: PreKeyKind, keySetId: number): () => void {
    const queue = this.queues[kind].get(keySetId);
    this.queues[kind].delete(keySetId);
    return () => {
      if (queue) this.queues[kind].set(keySetId, queue);
    };
  }

  /** The first of `count` new ids. */
  issueIds(count: number): number {
    const first = this.nextId;
    this.nextId += count;
    return first;
  }
}

/** Rows per journaled INSERT (7 parameters each, well under SQLite's limit of 999). */
const insertChunk = 100;

class HotOneTimePreKeys implements OneTimePreKeyRepository {
  constructor(
    private readonly keys: HotPreKeys,
    private readonly tx: SqlTx,
    private readonly sql: SqlRunner,
  ) {}

  async insertMany(keySetId: number, kind: PreKeyKind, keys: Array<PreKey & { signature?: string | null }>, createdAt: string): Promise<void> {
    if (keys.length === 0) return;
    const queue = this.keys.queue(kind, keySetId, true);
    // The table's unique index would refuse a duplicate at replay; refuse it now, as SQLite did.
    const keyIds = new Set(keys.map((key) => key.keyId));
    if (keyIds.size !== keys.length || queue.holding(keyIds).length > 0) {
      throw new Error('UNIQUE constraint failed: one_time_pre_keys.key_set_id, one_time_pre_keys.kind, one_time_pre_keys.key_id');
    }
    const firstId = this.keys.issueIds(keys.length);
    for (let start = 0; start < keys.length; start += insertChunk) {
      const chunk = keys.slice(start, start + insertChunk);
      const values = chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ');
      const params = chunk.flatMap((key, index) => [firstId + start + index, keySetId, kind, key.keyId, key.publicKey, key.signature ?? null, createdAt]);
      this.tx.journal(`INSERT INTO one_time_pre_keys (id, key_set_id, kind, key_id, public_key, signature, created_at) VALUES ${values}`, params);
    }
    keys.forEach((key, index) => queue.push(firstId + index, key.keyId, key.publicKey, key.signature ?? null));
    this.tx.onRollback(() => queue.drop(keys.length));
    await adjustPreKeyCount(this.sql, keySetId, kind, keys.length);
  }

  async takeOldest(keySetId: number, kind: PreKeyKind): Promise<TakenPreKey | undefined> {
    const taken = await this.takeOldestOfEach([keySetId], kind);
    return taken.get(keySetId);
  }

  async takeOldestOfEach(keySetIds: number[], kind: PreKeyKind): Promise<Map<number, TakenPreKey>> {
    const taken = new Map<number, TakenPreKey>();
    const ids: number[] = [];
    for (const keySetId of new Set(keySetIds)) {
      const queue = this.keys.queue(kind, keySetId);
      if (!queue || queue.size === 0) continue;
      const { id, ...key } = queue.shift();
      this.tx.onRollback(() => queue.unshift({ id, ...key }));
      taken.set(keySetId, key);
      ids.push(id);
    }
    if (ids.length === 0) return taken;
    this.tx.journal(`DELETE FROM one_time_pre_keys WHERE id IN (${placeholders(ids.length)})`, ids);
    await decrementPreKeyCounts(this.sql, [...taken.keys()], kind);
    return taken;
  }

  async count(keySetId: number, kind: PreKeyKind): Promise<number> {
    return this.keys.queue(kind, keySetId)?.size ?? 0;
  }

  async existingKeyIds(keySetId: number, kind: PreKeyKind, keyIds: string[]): Promise<string[]> {
    return this.keys.queue(kind, keySetId)?.holding(keyIds) ?? [];
  }

  async deleteAll(keySetId: number, kind: PreKeyKind): Promise<void> {
    if ((this.keys.queue(kind, keySetId)?.size ?? 0) > 0) {
      this.tx.journal('DELETE FROM one_time_pre_keys WHERE key_set_id = ? AND kind = ?', [keySetId, kind]);
      this.tx.onRollback(this.keys.removeQueue(kind, keySetId));
    }
    await adjustPreKeyCount(this.sql, keySetId, kind, null);
  }
}
