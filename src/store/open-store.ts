/** Picks the backend from `--db`: a postgres:// URL or a file path for the embedded store. */
import { openSqlJsStore } from './sqljs/sqljs-store.ts';
import type { Store } from './types.ts';

export interface OpenStoreOptions {
  checkpointBytes?: number;
  onFlush?(info: { records: number; bytes: number; ms: number }): void;
}

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

export async function openStore(db: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (isPostgresUrl(db)) {
    throw new Error('The PostgreSQL backend is not available in this build');
  }
  return openSqlJsStore({ path: db, ...options });
}
