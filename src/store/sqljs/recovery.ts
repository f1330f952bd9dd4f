// Loading the files at open (and after a storage failure): the snapshot, then every journal record
// with a greater LSN, in LSN order. A torn or corrupt tail is cut off; files after a gap are set aside.
import type { Buffer } from 'node:buffer';
import { open, rename } from 'node:fs/promises';
import { privateFileMode } from './file-modes.ts';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SqlJsStatic } from 'sql.js';
import { SqliteConnection } from './connection.ts';
import { decodeRecords, fsyncDirectory, journalPath, listJournalGenerations, readWholeFile } from './journal.ts';
import type { JournalRecord } from './journal.ts';

/** Table inside the database holding its LSN (for a snapshot) and its schema version. */
export const META = '_durable_meta';

const noop = (): void => {};

/** What the files on disk hold, loaded: the replayed database and where the journal continues. */
export interface DiskState {
  conn: SqliteConnection;
  lsn: number;
  snapshotLsn: number;
  snapshotBytes: number;
  snapshotExists: boolean;
  handle: FileHandle;
  activeGen: number;
  writePos: number;
  olderGens: Map<number, number>;
}

/** A snapshot image (or, without one, an empty database) opened, with the LSN it holds. */
export function openSnapshot(SQL: SqlJsStatic, image: Uint8Array | undefined): { conn: SqliteConnection; lsn: number } {
  const conn = new SqliteConnection(image ? new SQL.Database(image) : new SQL.Database());
  try {
    conn.execute(`CREATE TABLE IF NOT EXISTS ${META} (key TEXT PRIMARY KEY, value INTEGER NOT NULL)`);
    return { conn, lsn: conn.scalar(`SELECT value FROM ${META} WHERE key = 'lsn'`) };
  } catch (err) {
    conn.close();
    throw err;
  }
}

/** The database's image with its LSN recorded inside, so that the file is self-describing. */
export function exportAtLsn(conn: SqliteConnection, lsn: number): Uint8Array {
  conn.execute(`INSERT OR REPLACE INTO ${META}(key, value) VALUES ('lsn', ?)`, [lsn]);
  return conn.export();
}

export async function loadFromDisk(SQL: SqlJsStatic, path: string): Promise<DiskState> {
  const image = await readIfExists(path);
  const { conn, lsn: snapshotLsn } = openSnapshot(SQL, image);
  let handle: FileHandle | undefined;
  try {
    let applied = snapshotLsn;
    let broken = false;
    const gens = new Map<number, number>();
    for (const gen of await listJournalGenerations(path)) {
      const file = journalPath(path, gen);
      if (broken) {
        // After a gap nothing can be applied; keep the file for inspection, out of the way.
        await rename(file, `${file}.discarded`);
        continue;
      }
      const bytes = await readWholeFile(file);
      let end = 0;
      for (const { record, end: recordEnd } of decodeRecords(bytes)) {
        if (record.lsn > applied) {
          if (record.lsn !== applied + 1) {
            broken = true;
            break;
          }
          replay(conn, record);
          applied = record.lsn;
        }
        end = recordEnd; // records <= snapshot LSN are already in the snapshot: skipped
      }
      if (end < bytes.length) await truncateFile(file, end); // torn or corrupt tail
      gens.set(gen, end);
    }
    const last = [...gens.keys()].pop();
    let writePos = 0;
    let activeGen = 1;
    if (last === undefined) {
      handle = await open(journalPath(path, activeGen), 'w', privateFileMode);
      await fsyncDirectory(dirname(path));
    } else {
      activeGen = last;
      writePos = gens.get(last)!;
      gens.delete(last);
      handle = await open(journalPath(path, activeGen), 'r+');
      if (broken) await fsyncDirectory(dirname(path));
    }
    return {
      conn,
      lsn: applied,
      snapshotLsn,
      snapshotBytes: image?.length ?? 0,
      snapshotExists: image !== undefined,
      handle,
      activeGen,
      writePos,
      olderGens: gens,
    };
  } catch (err) {
    conn.close();
    await handle?.close().catch(noop);
    throw err;
  }
}

/** Re-executes one journal record; records only hold statements that succeeded before. */
export function replay(conn: SqliteConnection, record: JournalRecord): void {
  conn.execute('BEGIN');
  try {
    for (const [sql, params, failed] of record.ops) {
      try {
        conn.execute(sql, params);
      } catch (err) {
        if (failed !== 1) throw err;
      }
    }
    conn.execute('COMMIT');
  } catch (err) {
    try {
      conn.execute('ROLLBACK');
    } catch {
      /* already rolled back */
    }
    // Not a torn tail (the CRC matched): replay diverged, which must not pass silently.
    throw new Error(`cannot replay journal record ${record.lsn}: ${(err as Error).message}`, { cause: err });
  }
}

export async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readWholeFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function truncateFile(file: string, length: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.truncate(length);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}
