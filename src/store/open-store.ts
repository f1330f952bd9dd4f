/** Picks the backend from `--db`: a postgres:// URL or a file path for the embedded store. */
import { openSqlJsStore } from './sqljs/sqljs-store.ts';
import type { CheckpointInfo } from './sqljs/durable-database.ts';
import type { Store } from './types.ts';

export interface OpenStoreOptions {
  checkpointBytes?: number;
  onFlush?(info: { records: number; bytes: number; ms: number }): void;
  /** Embedded store only: after each checkpoint. */
  onCheckpoint?(info: CheckpointInfo): void;
  /** PostgreSQL only: connections in this instance's pool (default 10), plus one for LISTEN. */
  pgPoolSize?: number;
}

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

export async function openStore(db: string, options: OpenStoreOptions = {}): Promise<Store> {
  const { pgPoolSize = 10, ...embedded } = options;
  if (isPostgresUrl(db)) {
    // Loaded only when used: an embedded deployment never loads the PostgreSQL client.
    const { createPgPoolDriver } = await import('./postgres/pg-driver.ts');
    const { openPostgresStore } = await import('./postgres/postgres-store.ts');
    return openPostgresStore(await createPgPoolDriver({ url: db, poolSize: pgPoolSize }));
  }
  return openSqlJsStore({ path: db, ...embedded });
}
