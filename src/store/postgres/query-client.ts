/**
 * The few database primitives the PostgreSQL backend needs, implemented both by a `pg` pool
 * (`pg-driver.ts`, production) and by PGlite (`pglite-driver.ts`, PostgreSQL in WebAssembly, for
 * tests on machines without a server). The repositories see only `QueryClient`.
 */

export type SqlValue = string | number | boolean | null;
export type Row = Record<string, unknown>;

export interface QueryResult<R extends Row = Row> {
  rows: R[];
  rowCount: number;
}

export interface QueryClient {
  query<R extends Row = Row>(text: string, params?: SqlValue[]): Promise<QueryResult<R>>;
}

export interface PgDriver {
  /** Runs `fn` on one connection held for its whole duration (a transaction's client). */
  withClient<T>(fn: (client: QueryClient) => Promise<T>): Promise<T>;
  /** One autocommitted statement on any connection. */
  query<R extends Row = Row>(text: string, params?: SqlValue[]): Promise<QueryResult<R>>;
  /**
   * Listens on `channel` on a connection of its own. `onResync` is called after the listening
   * connection was (re)established, so notifications missed meanwhile can be caught up.
   */
  listen(channel: string, onNotify: (payload: string) => void, onResync: () => void): Promise<() => Promise<void>>;
  stats(): Record<string, number>;
  close(): Promise<void>;
}

/** The storage cannot be reached or cannot take writes (disk full, shutdown…): answered with 503. */
export class PostgresUnavailableError extends Error {
  readonly code = 'UNAVAILABLE' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PostgresUnavailableError';
  }
}

/** SQLSTATE of a server error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Connection failures and server states in which no statement can succeed now: connection
 * exceptions (08), insufficient resources such as a full disk (53), operator intervention (57P),
 * system errors (58), a read-only server (25006, e.g. a standby after failover). Errors without
 * a SQLSTATE count when they are socket or pool failures (refused, reset, terminated, timed out).
 */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof PostgresUnavailableError) return true;
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(code)) return true;
  const state = sqlState(error);
  if (state !== undefined) return /^(08|53|58)/.test(state) || /^57P0[1-4]$/.test(state) || state === '25006';
  const message = error instanceof Error ? error.message : '';
  return /connection terminated|timeout exceeded when trying to connect|connection error|client was closed|not queryable|cannot use a pool after calling end/i.test(
    message,
  );
}

/** Wraps driver errors that mean "storage unavailable"; SQL errors pass through unchanged. */
export function asStorageError(error: unknown): unknown {
  if (error instanceof PostgresUnavailableError || !isUnavailable(error)) return error;
  return new PostgresUnavailableError(`PostgreSQL unavailable: ${(error as Error).message}`, { cause: error });
}

/** Serialization failures, deadlocks and unique violations caused by a concurrent commit: re-running the transaction body resolves them. */
export function isRetryable(error: unknown): boolean {
  const state = sqlState(error);
  return state === '40001' || state === '40P01' || state === '23505';
}

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
