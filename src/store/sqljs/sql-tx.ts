// The statement interface a transaction body sees, and how its writes become journal ops.
import { isReadOnlyStatement, mayFailPartway } from './connection.ts';
import type { RunResult, SqliteConnection } from './connection.ts';
import type { JournalOp, SqlParam } from './journal.ts';

export interface SqlTx {
  /** Mutating statement: executed now and recorded in this transaction's journal record. */
  run(sql: string, params?: SqlParam[]): RunResult;
  /** Read queries, not recorded. Rows as plain objects keyed by column name. */
  all<T = Record<string, SqlParam>>(sql: string, params?: SqlParam[]): T[];
  get<T = Record<string, SqlParam>>(sql: string, params?: SqlParam[]): T | undefined;
  /** Mutating statement with RETURNING: recorded as run() records it, and its rows returned. */
  returning<T = Record<string, SqlParam>>(sql: string, params?: SqlParam[]): T[];
  /**
   * Records a change made to state held outside sql.js (HotState) as the statement it stands
   * for, without executing it here: recovery and the checkpoint image builder replay it.
   */
  journal(sql: string, params?: SqlParam[]): void;
  /** Runs `undo` if this transaction rolls back (in reverse order of registration), for state held outside sql.js. */
  onRollback(undo: () => void): void;
}

/** How each SQL text was classified, kept for the database's lifetime (texts repeat). */
export interface StatementKinds {
  readOnly: Map<string, boolean>;
  partial: Map<string, boolean>;
}

/** What a transaction has done that a rollback must undo beyond sql.js's own ROLLBACK. */
export interface TxScope {
  open: boolean;
  undo: Array<() => void>;
}

/** A SqlTx over `conn` that appends every change to `ops`; it refuses statements once `scope.open` is false. */
export function createSqlTx(conn: SqliteConnection, ops: JournalOp[], scope: TxScope, kinds: StatementKinds): SqlTx {
  const classified =
    (cache: Map<string, boolean>, test: (sql: string) => boolean) =>
    (sql: string): boolean => {
      let known = cache.get(sql);
      if (known === undefined) cache.set(sql, (known = test(sql)));
      return known;
    };
  const readOnly = classified(kinds.readOnly, isReadOnlyStatement);
  const partial = classified(kinds.partial, mayFailPartway);
  // Every statement that changed rows is journaled (all()/get() included, e.g. DELETE ... RETURNING),
  // plus every run() and returning() call (DDL does not show in total_changes). A statement that threw is journaled
  // (flagged) only if it changed rows before failing (UPDATE OR FAIL), so replay reproduces that too.
  const exec = <R>(sql: string, params: SqlParam[], journalAlways: boolean, body: (p: SqlParam[]) => R): R => {
    if (!scope.open) throw new Error('transaction already finished');
    const p = checkParams(params);
    if (!journalAlways && readOnly(sql)) return body(p);
    if (journalAlways && !partial(sql)) {
      const out = body(p); // throws with nothing changed (see mayFailPartway)
      ops.push([sql, p]);
      return out;
    }
    const before = conn.totalChanges();
    let out: R;
    try {
      out = body(p);
    } catch (err) {
      if (conn.totalChanges() !== before) ops.push([sql, p, 1]);
      throw err;
    }
    if (journalAlways || conn.totalChanges() !== before) ops.push([sql, p]);
    return out;
  };
  return {
    run: (sql, params = []) => exec(sql, params, true, (p) => conn.run(sql, p)),
    all: <T>(sql: string, params: SqlParam[] = []) => exec(sql, params, false, (p) => conn.query(sql, p)) as T[],
    get: <T>(sql: string, params: SqlParam[] = []) => exec(sql, params, false, (p) => conn.query(sql, p, 1))[0] as T | undefined,
    returning: <T>(sql: string, params: SqlParam[] = []) => exec(sql, params, true, (p) => conn.query(sql, p)) as T[],
    journal(sql, params = []) {
      if (!scope.open) throw new Error('transaction already finished');
      ops.push([sql, checkParams(params)]);
    },
    onRollback(undo) {
      if (!scope.open) throw new Error('transaction already finished');
      scope.undo.push(undo);
    },
  };
}

/** Whether a transaction body returned a promise; a synchronous body then commits without yielding. */
export function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Parameters are journaled as JSON: only values that survive the round trip exactly are accepted. */
function checkParams(params: SqlParam[]): SqlParam[] {
  if (!Array.isArray(params)) throw new TypeError('SQL parameters must be an array');
  for (const p of params) {
    const ok = p === null || typeof p === 'string' || (typeof p === 'number' && Number.isFinite(p));
    if (!ok) throw new TypeError(`unsupported SQL parameter ${String(p)} (use string, finite number or null)`);
  }
  return params.slice(); // the caller may mutate its array after the call
}
