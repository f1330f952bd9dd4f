/** The shared repositories' statements (src/store/sql) on one PostgreSQL transaction's client. */
import { postgresDialect } from '../sql/dialect.ts';
import type { SqlRunner } from '../sql/runner.ts';
import type { QueryClient } from './query-client.ts';

/** A quoted literal (kept as it is) or a `?` placeholder. */
const literalOrPlaceholder = /'(?:[^']|'')*'|\?/g;

/** The shared SQL's `?` placeholders as PostgreSQL's `$1, $2, …`. */
export function numberPlaceholders(sql: string): string {
  let next = 0;
  return sql.replace(literalOrPlaceholder, (match) => (match === '?' ? `$${++next}` : match));
}

export function pgSqlRunner(client: QueryClient): SqlRunner {
  return {
    dialect: postgresDialect,
    all: async (sql, params) => (await client.query(numberPlaceholders(sql), params)).rows,
    get: async (sql, params) => (await client.query(numberPlaceholders(sql), params)).rows[0],
    run: async (sql, params) => ({ changes: (await client.query(numberPlaceholders(sql), params)).rowCount }),
    returning: async (sql, params) => (await client.query(numberPlaceholders(sql), params)).rows,
  };
}
