/**
 * `PgDriver` over PGlite (PostgreSQL compiled to WebAssembly, in-process), so that the test suite
 * covers the PostgreSQL backend's SQL on any machine. PGlite is a single connection: statements
 * of one transaction must not interleave with others, hence one FIFO lock per instance, shared
 * by every store opened on it (tests give each store its own schema on one instance).
 * Only a structural type is used here: PGlite is a development dependency.
 */
import { type PgDriver, type QueryClient, quoteIdent, type SqlValue } from './query-client.ts';
import { Mutex } from '../mutex.ts';

export interface PGliteLike {
  query<T>(query: string, params?: unknown[]): Promise<{ rows: T[]; affectedRows?: number }>;
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

interface Connection {
  lock: Mutex;
  searchPath: string | undefined;
}

const connections = new WeakMap<PGliteLike, Connection>();

export function createPgliteDriver(db: PGliteLike, schema?: string): PgDriver {
  let connection = connections.get(db);
  if (!connection) connections.set(db, (connection = { lock: new Mutex(), searchPath: undefined }));
  const shared = connection;
  const client: QueryClient = {
    async query(text: string, params?: SqlValue[]) {
      const result = await db.query<never>(text, params);
      return { rows: result.rows, rowCount: result.affectedRows ?? 0 };
    },
  };

  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    const release = await shared.lock.acquire();
    try {
      if (schema !== undefined && shared.searchPath !== schema) {
        await db.query(`SET search_path TO ${quoteIdent(schema)}`);
        shared.searchPath = schema;
      }
      return await fn();
    } finally {
      release();
    }
  };

  return {
    withClient: (fn) => exclusive(() => fn(client)),
    query: (text, params) => exclusive(() => client.query(text, params)),
    async listen(channel, onNotify, onResync) {
      const unlisten = await exclusive(() => db.listen(channel, onNotify));
      onResync();
      return () => exclusive(() => unlisten());
    },
    stats: () => ({}),
    async close() {
      // The PGlite instance belongs to whoever created it.
    },
  };
}
