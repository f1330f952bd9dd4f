// A checkpoint's database image built from the files alone: the snapshot, then the journal records
// after it up to the checkpoint's LSN. The result equals what recovery would load at that LSN, so
// it can be built anywhere (a worker thread: image-worker.ts) while the live database goes on.
import type { SqlJsStatic } from 'sql.js';
import { decodeRecords, journalPath, readWholeFile } from './journal.ts';
import { exportAtLsn, openSnapshot, readIfExists, replay } from './recovery.ts';

export interface ImageJob {
  /** The snapshot file; journals beside it (journalPath). */
  path: string;
  /** The LSN the image must hold exactly. */
  lsn: number;
  /** Journal generations to read, in order: every one since the snapshot, up to the one `lsn` ends in. */
  generations: number[];
}

export async function buildSnapshotImage(SQL: SqlJsStatic, job: ImageJob): Promise<Uint8Array> {
  const { conn, lsn: snapshotLsn } = openSnapshot(SQL, await readIfExists(job.path));
  try {
    let applied = snapshotLsn;
    for (const gen of job.generations) {
      if (applied >= job.lsn) break;
      for (const { record } of decodeRecords(await readWholeFile(journalPath(job.path, gen)))) {
        if (record.lsn <= applied) continue; // already in the snapshot
        if (record.lsn !== applied + 1 || record.lsn > job.lsn) break;
        replay(conn, record);
        applied = record.lsn;
      }
    }
    // Every record up to `lsn` was durable before the job started; anything else is a bug or a disk
    // that lost data, and must not become the snapshot.
    if (applied !== job.lsn) throw new Error(`journal replay reached LSN ${applied}, not ${job.lsn}`);
    return exportAtLsn(conn, job.lsn);
  } finally {
    conn.close();
  }
}
