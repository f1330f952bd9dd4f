/** The embedded backend: sql.js made durable by `DurableDatabase`, repositories over its transactions. */
import { MemoryCounters } from '../memory-counters.ts';
import type { Store, StoredEvent, StoreTx } from '../types.ts';
import { DurableDatabase, type FaultInjector, type SqlTx } from './durable-database.ts';
import { SqlJsKeySets, SqlJsOneTimePreKeys } from './key-repositories.ts';
import { SqlJsApiKeys, SqlJsAudit, SqlJsBackups, SqlJsEvents, SqlJsPublicKeys, SqlJsSessions, SqlJsSettings } from './repositories.ts';
import { SqlJsTransparency } from './transparency-repositories.ts';
import { acquireProcessLock } from './process-lock.ts';
import { migrations } from './schema.ts';

export interface SqlJsStoreOptions {
  path: string;
  checkpointBytes?: number;
  faults?: FaultInjector;
  onFlush?(info: { records: number; bytes: number; ms: number }): void;
}

function repositories(sql: SqlTx, appended: StoredEvent[]): StoreTx {
  return {
    keySets: new SqlJsKeySets(sql),
    oneTimePreKeys: new SqlJsOneTimePreKeys(sql),
    backups: new SqlJsBackups(sql),
    sessions: new SqlJsSessions(sql),
    audit: new SqlJsAudit(sql),
    events: new SqlJsEvents(sql, appended),
    apiKeys: new SqlJsApiKeys(sql),
    publicKeys: new SqlJsPublicKeys(sql),
    settings: new SqlJsSettings(sql),
    transparency: new SqlJsTransparency(sql),
  };
}

export async function openSqlJsStore(options: SqlJsStoreOptions): Promise<Store> {
  const lock = await acquireProcessLock(options.path);
  let database: DurableDatabase;
  try {
    database = await DurableDatabase.open(options);
    await database.migrate(migrations);
  } catch (error) {
    await lock.release();
    throw error;
  }
  const listeners = new Set<(events: StoredEvent[]) => void>();

  return {
    kind: 'sqljs',
    counters: new MemoryCounters(),
    async transaction(fn) {
      const appended: StoredEvent[] = [];
      const result = await database.transaction((sql) => {
        appended.length = 0; // a retried body must not publish the events of an aborted attempt
        return fn(repositories(sql, appended));
      });
      if (appended.length > 0) for (const listener of listeners) listener(appended);
      return result;
    },
    onEvents(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isReady: () => database.isOpen,
    snapshotTo: (path) => database.snapshotTo(path),
    stats: () => database.stats(),
    async close() {
      try {
        await database.close();
      } finally {
        await lock.release();
      }
    },
  };
}
