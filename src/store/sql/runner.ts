/**
 * The statement interface the shared repositories run on: each backend supplies one per
 * transaction (sqljs/sql-runner.ts, postgres/sql-runner.ts). SQL is written with `?`
 * placeholders; the PostgreSQL runner numbers them.
 */
import type { SqlDialect } from './dialect.ts';

export type SqlValue = string | number | boolean | null;
export type Row = Record<string, unknown>;
type Awaitable<T> = T | Promise<T>;

export interface SqlRunner {
  readonly dialect: SqlDialect;
  /** Rows of a query. */
  all(sql: string, params?: SqlValue[]): Awaitable<Row[]>;
  get(sql: string, params?: SqlValue[]): Awaitable<Row | undefined>;
  /** A statement run for its effect; `changes` counts the rows it inserted, updated or deleted. */
  run(sql: string, params?: SqlValue[]): Awaitable<{ changes: number }>;
  /** An INSERT, UPDATE or DELETE with RETURNING: its rows (journaled like run() on the embedded store). */
  returning(sql: string, params?: SqlValue[]): Awaitable<Row[]>;
}

export const placeholders = (count: number): string => Array.from({ length: count }, () => '?').join(', ');

/** A WHERE clause built from optional conditions, with their parameters in order. */
export class Filter {
  readonly params: SqlValue[] = [];
  private readonly conditions: string[] = [];

  where(condition: string, ...values: SqlValue[]): this {
    this.conditions.push(condition);
    this.params.push(...values);
    return this;
  }

  get sql(): string {
    return this.conditions.length === 0 ? 'TRUE' : this.conditions.join(' AND ');
  }
}

/** One page of a table's rows matching `filter`, and how many match in all. */
export async function page<T>(
  sql: SqlRunner,
  query: { table: string; filter: Filter; orderBy: string; limit: number; offset: number },
  toRecord: (row: Row) => T,
): Promise<{ items: T[]; total: number }> {
  const { table, filter } = query;
  const counted = await sql.get(`SELECT COUNT(*) AS n FROM ${table} WHERE ${filter.sql}`, filter.params);
  const rows = await sql.all(`SELECT * FROM ${table} WHERE ${filter.sql} ORDER BY ${query.orderBy} LIMIT ? OFFSET ?`, [
    ...filter.params,
    query.limit,
    query.offset,
  ]);
  return { items: rows.map(toRecord), total: Number(counted?.n ?? 0) };
}
