/**
 * What differs in SQL text between the embedded store (SQLite via sql.js) and PostgreSQL. The
 * queries and the schema (src/store/sql) are written once, with `?` placeholders, and ask the
 * dialect only for these few pieces.
 */
import type { SqlValue } from './runner.ts';

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /**
   * Appended to reads whose rows the transaction goes on to change: ` FOR UPDATE` on PostgreSQL
   * (concurrent transactions on the same rows then take turns), nothing on the embedded store,
   * whose transactions already run one at a time.
   */
  readonly rowLock: string;
  /**
   * A statement taking a lock on a name (its one parameter) until the transaction ends, or null
   * where transactions already run one at a time. Row locks cannot guard a count against a
   * concurrent insert of a row that does not exist yet; this can.
   */
  readonly namedLock: string | null;
  /** The column that keeps insertion order where nothing else does (SQLite's rowid; a `seq` column on PostgreSQL). */
  readonly insertionOrder: string;
  /** LIKE that ignores ASCII case: SQLite's LIKE does; PostgreSQL's ILIKE under the C collation does the same. */
  readonly caseInsensitiveLike: string;
  /** A boolean column's value (SQLite has none: 0/1). */
  bool(value: boolean): SqlValue;
  /** The larger of two non-null values (SQLite's two-argument MAX). */
  greatest(a: string, b: string): string;
  /** Column types of the schema (schema.ts). */
  readonly types: SchemaTypes;
}

export interface SchemaTypes {
  /** Text compared bytewise: SQLite's default; PostgreSQL needs the C collation for the same order. */
  text: string;
  /** An integer that may outgrow 32 bits (SQLite's INTEGER is 64-bit already). */
  bigint: string;
  boolean: string;
  /** An integer primary key drawn from a sequence that never reuses a value. */
  serialKey: string;
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  rowLock: '',
  namedLock: null,
  insertionOrder: 'rowid',
  caseInsensitiveLike: 'LIKE',
  bool: (value) => (value ? 1 : 0),
  greatest: (a, b) => `MAX(${a}, ${b})`,
  types: { text: 'TEXT', bigint: 'INTEGER', boolean: 'INTEGER', serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT' },
};

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  rowLock: ' FOR UPDATE',
  namedLock: 'SELECT pg_advisory_xact_lock(hashtextextended(?, 0))',
  insertionOrder: 'seq',
  caseInsensitiveLike: 'ILIKE',
  bool: (value) => value,
  greatest: (a, b) => `GREATEST(${a}, ${b})`,
  types: { text: 'TEXT COLLATE "C"', bigint: 'BIGINT', boolean: 'BOOLEAN', serialKey: 'BIGSERIAL PRIMARY KEY' },
};
