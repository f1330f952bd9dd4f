// Thin synchronous wrapper over one sql.js Database: a prepared-statement cache (preparing is
// the expensive part of a small statement) and the few primitives the durable store needs.
import type { Database, Statement } from 'sql.js';
import type { SqlParam } from './journal.ts';

export interface RunResult {
  changes: number;
  lastInsertRowid: number;
}

export type Row = Record<string, SqlParam>;

const selectStatement = /^\s*SELECT\b/i;

/** A plain SELECT never writes, so it needs no change tracking (a WITH … may hide a DELETE). */
export const isReadOnlyStatement = (sql: string): boolean => selectStatement.test(sql) && !/\bRETURNING\b/i.test(sql);

/**
 * Only `OR FAIL` keeps the rows a failing statement changed before its error; with SQLite's
 * default (ABORT), and with IGNORE/REPLACE, a statement that throws leaves nothing behind.
 */
export const mayFailPartway = (sql: string): boolean => /\bOR\s+FAIL\b/i.test(sql);

// Applied on every (re)open and after every export. They must never change between a statement's
// first execution and its journal replay: foreign-key actions change what a statement does.
// journal_mode=MEMORY: sql.js keeps the database in memory anyway; a MEMFS rollback-journal file
// only costs time (~4x per small transaction).
const PRAGMAS = [
  'PRAGMA foreign_keys = ON',
  'PRAGMA journal_mode = MEMORY',
  'PRAGMA synchronous = OFF',
  'PRAGMA locking_mode = EXCLUSIVE',
  'PRAGMA temp_store = MEMORY',
  'PRAGMA cache_size = -65536',
];

export class SqliteConnection {
  private readonly statements = new Map<string, Statement>();
  private readonly columns = new Map<string, string[]>();
  /** Counts statements, so a lazily read lastInsertRowid can tell it is still current. */
  private statementsRun = 0;

  constructor(private readonly db: Database) {
    this.applyPragmas();
  }

  /** Executes one statement to completion, discarding any rows. */
  execute(sql: string, params: SqlParam[] = []): void {
    this.statementsRun++;
    const stmt = this.statement(sql);
    try {
      stmt.bind(params);
      while (stmt.step()) {
        /* drain (e.g. RETURNING rows) */
      }
    } catch (err) {
      throw asError(err);
    } finally {
      stmt.reset();
    }
  }

  run(sql: string, params: SqlParam[]): RunResult {
    this.execute(sql, params);
    const connection = this;
    const changes = this.db.getRowsModified();
    // last_insert_rowid() costs a statement of its own: ask only when the caller reads it, which
    // must be before the next statement (it would then describe that one).
    const statementAfterRun = this.statementsRun;
    let rowid: number | undefined;
    return {
      changes,
      get lastInsertRowid(): number {
        if (rowid === undefined) {
          if (connection.statementsRun !== statementAfterRun) throw new Error('read lastInsertRowid before running another statement');
          rowid = connection.scalar('SELECT last_insert_rowid()');
        }
        return rowid;
      },
    };
  }

  query(sql: string, params: SqlParam[], limit = Infinity): Row[] {
    this.statementsRun++;
    const stmt = this.statement(sql);
    const rows: Row[] = [];
    try {
      stmt.bind(params);
      let columns: string[] | undefined;
      while (rows.length < limit && stmt.step()) {
        // getAsObject() asks SQLite for every column name on every row; ask once per query.
        columns ??= this.columnNames(sql, stmt);
        const values = stmt.get();
        const row: Row = {};
        for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i] as SqlParam;
        rows.push(row);
      }
    } catch (err) {
      throw asError(err);
    } finally {
      stmt.reset();
    }
    return rows;
  }

  /** Calls `row` with each result row's values in column order, without building an object per row. */
  each(sql: string, params: SqlParam[], row: (values: SqlParam[]) => void): void {
    this.statementsRun++;
    const stmt = this.statement(sql);
    try {
      stmt.bind(params);
      while (stmt.step()) row(stmt.get() as SqlParam[]);
    } catch (err) {
      throw asError(err);
    } finally {
      stmt.reset();
    }
  }

  scalar(sql: string, params: SqlParam[] = []): number {
    const row = this.query(sql, params, 1)[0];
    const value = row ? Object.values(row)[0] : undefined;
    return typeof value === 'number' ? value : 0;
  }

  /** Rows changed by INSERT/UPDATE/DELETE so far (monotonic): reveals whether a statement wrote. */
  totalChanges(): number {
    return this.scalar('SELECT total_changes()');
  }

  /** The database as a standalone SQLite file image. Must not be called inside a transaction. */
  export(): Uint8Array {
    // Older sql.js versions close and reopen the database in export(), freeing every prepared
    // statement and resetting pragmas; free the cache first so it never holds dead statements.
    this.clearStatements();
    const image = this.db.export();
    this.applyPragmas();
    return image;
  }

  close(): void {
    this.clearStatements();
    this.db.close();
  }

  private columnNames(sql: string, stmt: Statement): string[] {
    let names = this.columns.get(sql);
    if (!names) this.columns.set(sql, (names = stmt.getColumnNames()));
    return names;
  }

  private statement(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (stmt) return stmt;
    try {
      stmt = this.db.prepare(sql);
    } catch (err) {
      throw asError(err);
    }
    // prepare() silently compiles only the first statement of the text; refuse the rest rather than
    // dropping it (e.g. a migration written as one string with several statements).
    if (this.hasTrailingStatement(sql.slice(stmt.getSQL().length))) {
      stmt.free();
      throw new Error(`expected exactly one SQL statement per call: ${sql.slice(0, 200)}`);
    }
    this.statements.set(sql, stmt);
    return stmt;
  }

  private hasTrailingStatement(tail: string): boolean {
    if (!/[^\s;]/.test(tail)) return false;
    try {
      this.db.prepare(tail).free();
      return true;
    } catch (err) {
      return !String(err).includes('Nothing to prepare'); // only comments left: fine
    }
  }

  private clearStatements(): void {
    for (const stmt of this.statements.values()) stmt.free();
    this.statements.clear();
    this.columns.clear();
  }

  private applyPragmas(): void {
    for (const pragma of PRAGMAS) this.db.exec(pragma);
  }
}

/** sql.js throws plain strings in a few places; callers deserve Error objects. */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
