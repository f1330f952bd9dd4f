/** The embedded backend: sql.js made durable by `DurableDatabase`, repositories over its transactions. */
import { ApiKeyChangeListeners, recordApiKeyChanges } from '../api-key-changes.ts';
import { MemoryCounters } from '../memory-counters.ts';
import type { Store, StoredEvent, StoreTx } from '../types.ts';
import { DurableDatabase, type FaultInjector, type SqlTx } from './durable-database.ts';
import { SqlJsDeviceLists } from './device-lists.ts';
import { SqlJsKeySets, SqlJsOneTimePreKeys } from './key-repositories.ts';
import { SqlJsApiKeys, SqlJsAudit, SqlJsBackups, SqlJsEvents, SqlJsPublicKeys, SqlJsSessions, SqlJsSettings } from './repositories.ts';
import { SqlJsTransparency } from './transparency-repositories.ts';
import { acquireProcessLock } from './process-lock.ts';
import { BlobFiles, blobDirectory, copyBlobDirectory } from './blob-files.ts';
import { inlineBlobs, moveInlineBlobsToFiles, startBlobSweeps } from './blob-upkeep.ts';
import { migrations } from './schema.ts';

export interface SqlJsStoreOptions {
  path: string;
  checkpointBytes?: number;
  faults?: FaultInjector;
  onFlush?(info: { records: number; bytes: number; ms: number }): void;
}

/** How often unreferenced blob files are looked for (each is removed after two looks a grace period apart). */
const blobSweepMs = 30_000;

function repositories(sql: SqlTx, appended: StoredEvent[], blobs: BlobFiles): StoreTx {
  return {
    keySets: new SqlJsKeySets(sql),
    oneTimePreKeys: new SqlJsOneTimePreKeys(sql),
    backups: new SqlJsBackups(sql, blobs),
    sessions: new SqlJsSessions(sql),
    audit: new SqlJsAudit(sql),
    events: new SqlJsEvents(sql, appended),
    apiKeys: new SqlJsApiKeys(sql),
    publicKeys: new SqlJsPublicKeys(sql),
    settings: new SqlJsSettings(sql),
    deviceLists: new SqlJsDeviceLists(sql),
    transparency: new SqlJsTransparency(sql),
  };
}

export async function openSqlJsStore(options: SqlJsStoreOptions): Promise<Store> {
  const lock = await acquireProcessLock(options.path);
  let database: DurableDatabase | undefined;
  let blobs: BlobFiles;
  try {
    database = await DurableDatabase.open(options);
    await database.migrate(migrations);
    blobs = await BlobFiles.open(options.path);
    await moveInlineBlobsToFiles(database, blobs);
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
        return fn(recordApiKeyChanges(repositories(sql, appended, blobs), changedKeys));
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
