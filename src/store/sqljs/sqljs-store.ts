/** The embedded backend: sql.js made durable by `DurableDatabase`, repositories over its transactions. */
import { ApiKeyChangeListeners, recordApiKeyChanges } from '../api-key-changes.ts';
import { MemoryCounters } from '../memory-counters.ts';
import type { Store, StoredEvent, StoreTx } from '../types.ts';
import { DurableDatabase, type FaultInjector, type SqlTx } from './durable-database.ts';
import { sqliteDialect } from '../sql/dialect.ts';
import { SqlAudit, SqlEvents } from '../sql/audit-events.ts';
import { SqlDeviceLists } from '../sql/device-lists.ts';
import { SqlKeySets } from '../sql/key-repositories.ts';
import { HotPreKeys } from './hot-pre-keys.ts';
import { SqlApiKeys, SqlPublicKeys, SqlSessions, SqlSettings } from '../sql/repositories.ts';
import type { SqlRunner } from '../sql/runner.ts';
import { SqlTransparency } from '../sql/transparency-repositories.ts';
import { SqlJsBackups } from './backups.ts';
import { acquireProcessLock } from './process-lock.ts';
import type { CheckpointInfo } from './durable-database.ts';
import { BlobFiles, blobDirectory, copyBlobDirectory } from './blob-files.ts';
import { inlineBlobs, moveInlineBlobsToFiles, startBlobSweeps } from './blob-upkeep.ts';
import { embeddedMigrations } from '../sql/schema.ts';

export interface SqlJsStoreOptions {
  path: string;
  checkpointBytes?: number;
  faults?: FaultInjector;
  onFlush?(info: { records: number; bytes: number; ms: number }): void;
  onCheckpoint?(info: CheckpointInfo): void;
}

/** How often unreferenced blob files are looked for (each is removed after two looks a grace period apart). */
const blobSweepMs = 30_000;

/** The shared repositories (src/store/sql) over one transaction's statements; backups differ (blob files), and one-time pre-keys (in memory). */
function repositories(tx: SqlTx, appended: StoredEvent[], blobs: BlobFiles, preKeys: HotPreKeys): StoreTx {
  // The parameters the shared SQL passes are strings, finite numbers and null here (the dialect's booleans are 0/1); SqlTx checks.
  const sql: SqlRunner = { dialect: sqliteDialect, run: tx.run, all: tx.all, get: tx.get, returning: tx.returning };
  return {
    keySets: new SqlKeySets(sql),
    oneTimePreKeys: preKeys.repository(tx, sql),
    backups: new SqlJsBackups(sql, blobs),
    sessions: new SqlSessions(sql),
    audit: new SqlAudit(sql),
    events: new SqlEvents(sql, appended),
    apiKeys: new SqlApiKeys(sql),
    publicKeys: new SqlPublicKeys(sql),
    settings: new SqlSettings(sql),
    deviceLists: new SqlDeviceLists(sql),
    transparency: new SqlTransparency(sql),
  };
}

export async function openSqlJsStore(options: SqlJsStoreOptions): Promise<Store> {
  const lock = await acquireProcessLock(options.path);
  let database: DurableDatabase | undefined;
  let blobs: BlobFiles;
  const preKeys = new HotPreKeys();
  try {
    database = await DurableDatabase.open(options);
    await database.migrate(embeddedMigrations);
    blobs = await BlobFiles.open(options.path);
    await moveInlineBlobsToFiles(database, blobs);
    await database.attachHotState(preKeys);
  } catch (error) {
    await database?.close().catch(() => undefined);
    await lock.release();
    throw error;
  }
  const stopSweeps = startBlobSweeps(database, blobs, blobSweepMs, () => undefined); // a failed sweep is retried next time
  const listeners = new Set<(events: StoredEvent[]) => void>();
  const keyListeners = new ApiKeyChangeListeners();

  return {
    kind: 'sqljs',
    counters: new MemoryCounters(),
    async transaction(fn) {
      const appended: StoredEvent[] = [];
      const changedKeys = new Set<string>();
      const result = await database.transaction((sql) => {
        appended.length = 0; // a retried body must not publish the events of an aborted attempt
        changedKeys.clear();
        return fn(recordApiKeyChanges(repositories(sql, appended, blobs, preKeys), changedKeys));
      });
      if (changedKeys.size > 0) keyListeners.emit([...changedKeys]);
      if (appended.length > 0) for (const listener of listeners) listener(appended);
      return result;
    },
    onEvents(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    onApiKeyChanges: (listener) => keyListeners.add(listener),
    isReady: () => database.isOpen,
    // The image and the blob files it references; or one self-contained file with the blobs inline.
    snapshotTo: (path, { selfContained = false } = {}) =>
      blobs.withSweepsPaused(async () => {
        await database.snapshotTo(path);
        if (selfContained) await inlineBlobs(path, blobs);
        else await copyBlobDirectory(blobs.dir, blobDirectory(path));
      }),
    stats: () => database.stats(),
    async close() {
      try {
        await stopSweeps();
        await database.close();
      } finally {
        await lock.release();
      }
    },
  };
}
